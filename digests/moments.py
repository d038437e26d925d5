"""Send booked rounds at their moments on one thread and record them on another.

The shaper books each message a moment (``RateShaper.acquire_paced``); this module
hands each message to the HTTP pool at its moment, keeps a round's answers together
and records a round once all its answers are in, so recording never delays a send.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from digests.models import OutboxMessage
from digests.providers.base import ProviderError, SubmitResult

log = logging.getLogger(__name__)

Answer = SubmitResult | ProviderError
RECHECK = 0.02  # seconds: a wait for a moment reads the path's delay again this often


@dataclass
class Round:
    """Messages claimed together, each with its send moment; recorded together."""

    moments: list[tuple[float, OutboxMessage]]  # (time.monotonic() to send at, row), in order
    futures: dict[int, Future[Answer]] = field(default_factory=dict)

    @property
    def last(self) -> float:
        return self.moments[-1][0] if self.moments else 0.0


def favour_latency() -> None:
    """Tune this process so a message leaves within a few ms of its moment.

    Measured (docs/BENCHMARKS.md): with CPython's 5 ms GIL switch interval and the
    collector walking the ORM's objects, 1 % of messages left 5-75 ms late; a shorter
    interval and freezing what start-up allocated brought the worst to ~8 ms.
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
    gc.freeze()


def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)



class Pipeline:
    """Send booked rounds at their moments on one thread; record them on another."""

    def __init__(self, submit: Callable[[OutboxMessage, float, float], Future[Answer]],
                 record: Callable[[Round], None], *, lead: float, max_open: int,
                 early: Callable[[], float] = lambda: 0.0) -> None:
        self._submit, self._record_round = submit, record
        # How long before its booked moment a message leaves: the path's delay when the
        # moments are arrivals at the operator (read again while waiting: it moves).
        self._early = early
        self._lead, self._max_open = lead, max_open
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, int, Round]] = []  # (moment, seq, index, round)
        self._seq = itertools.count()
        self._tail = 0.0  # the latest booked moment
        self._open = 0  # rounds not yet recorded
        self._closing = False
        self._recordings: queue.Queue[Round | None] = queue.Queue()
        self._dispatcher = threading.Thread(target=self._dispatch, name="sms-moments",
                                            daemon=True)
        self._recorder = threading.Thread(target=self._record, name="sms-record", daemon=True)
        self._dispatcher.start()
        self._recorder.start()

    def send(self, planned: Round) -> None:
        with self._lock:
            self._open += 1
            for i, (at, _row) in enumerate(planned.moments):
                heapq.heappush(self._heap, (at, next(self._seq), i, planned))
            self._tail = max(self._tail, planned.last)
            self._lock.notify_all()

    def wait_for_lead(self) -> None:
        """Return once the booked moments run out within `lead` seconds and fewer than
        `max_open` rounds are unrecorded (what a killed sender leaves in doubt)."""
        sleep_until(self._tail - self._lead - self._early())
        with self._lock:
            while self._open >= self._max_open:
                self._lock.wait()

    def drain(self) -> None:
        """Return once every round handed over is sent and recorded."""
        with self._lock:
            while self._open:
                self._lock.wait()

    def close(self) -> None:
        self.drain()
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._dispatcher.join()
        self._recordings.put(None)
        self._recorder.join()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                while not self._heap and not self._closing:
                    self._lock.wait()
                if not self._heap:
                    return
                at, _, i, planned = self._heap[0]
                leave = at - self._early()
                delay = leave - time.monotonic()
                if delay > 0.0005:
                    self._lock.wait(min(delay, RECHECK))
                    continue
                heapq.heappop(self._heap)
            row = planned.moments[i][1]
            planned.futures[i] = self._submit(row, at, leave)
            if len(planned.futures) == len(planned.moments):
                self._recordings.put(planned)

    def _record(self) -> None:
        while (planned := self._recordings.get()) is not None:
            try:
                self._record_round(planned)
            except Exception:  # a lost recording leaves rows in doubt for recovery
                log.exception("sms: recording a round of %d failed", len(planned.moments))
            with self._lock:
                self._open -= 1
                self._lock.notify_all()
