"""Split roll numbers over screens so that every roll a teacher confirms is shown, never cut."""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from ussd.screens import ScreenTooLong

T = TypeVar("T")


def split_pages(items: Sequence[T], fits: Callable[[Sequence[T], bool], bool]) -> list[list[T]]:
    """Return consecutive pages of items, each the longest run `fits(run, is_last)` accepts.

    `fits` must be monotone (fewer items never fit worse); a page holds at least one item.
    """
    pages: list[list[T]] = []
    start = 0
    while True:
        if start >= len(items) and pages:  # the last page was as short as it can be
            return pages
        if len(items) - start <= 1 or fits(items[start:], True):
            pages.append(list(items[start:]))
            return pages
        low, high = start + 1, len(items) - 1  # the longest run [start, end) that fits
        while low < high:
            mid = (low + high + 1) // 2
            if fits(items[start:mid], False):
                low = mid
            else:
                high = mid - 1
        pages.append(list(items[start:low]))
        start = low


def fits_screen(render: Callable[[], object]) -> bool:
    """Tell whether render() builds a screen within the limits."""
    try:
        render()
    except ScreenTooLong:
        return False
    return True
