"""Small-cell suppression: no count of fewer than five children is shown exactly."""

from __future__ import annotations

SMALL_CELL = 5
SUPPRESSED = f"<{SMALL_CELL}"


def cell(count: int) -> int | str:
    """Return `count` for display, or "<5" when it counts fewer than SMALL_CELL children.

    Zero is suppressed too: "0 absent" in a class says something about every child in it.
    """
    return count if count >= SMALL_CELL else SUPPRESSED
