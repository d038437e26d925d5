"""Parse roll numbers typed on a keypad: two digits each, no separators (e.g. 0312 = 3 and 12)."""

from __future__ import annotations


class BadRolls(ValueError):
    """The input is not a run of two-digit roll numbers within the class."""


def parse_rolls(text: str, class_size: int) -> tuple[int, ...]:
    """Return the distinct roll numbers in `text`, in the order typed.

    Raises:
        BadRolls: odd length, a non-digit, 00, or a number above the class size.
    """
    if not text or len(text) % 2 or not text.isascii() or not text.isdigit():
        raise BadRolls(text)
    rolls = [int(text[i:i + 2]) for i in range(0, len(text), 2)]
    if any(r < 1 or r > class_size for r in rolls):
        raise BadRolls(text)
    return tuple(dict.fromkeys(rolls))


def format_rolls(rolls: tuple[int, ...] | list[int]) -> str:
    """Return roll numbers for display, sorted, space-separated."""
    return " ".join(str(r) for r in sorted(rolls)) or "-"
