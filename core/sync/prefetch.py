"""Read upstream pages one step ahead in a thread, so fetching overlaps with writing."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from core.upstream.client import RosterPage, UpstreamClient


@dataclass(frozen=True)
class Item:
    """One unit of upstream reading: a school's classes (first page only) and a roster page."""

    index: int
    school: str
    classes: list[Any] | None
    page: RosterPage


_DONE = object()


def roster_pages(client: UpstreamClient, order: list[str], start: int, token: str | None,
                 ahead: int = 2) -> Iterator[Item]:
    """Yield every page from school `start` (at `token`) onwards, fetched `ahead` in advance."""
    out: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def produce() -> None:
        try:
            for index in range(start, len(order)):
                school = order[index]
                page_token = token if index == start else None
                classes = client.classes(school) if page_token is None else None
                while not stop.is_set():
                    page = client.roster_page(school, page_token)
                    out.put(Item(index, school, classes, page))
                    classes = None
                    if page.next_page_token is None:
                        break
                    page_token = page.next_page_token
                if stop.is_set():
                    return
            out.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            out.put(exc)

    thread = threading.Thread(target=produce, name="upstream-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                out.get_nowait()
            except queue.Empty:
                thread.join(0.05)
