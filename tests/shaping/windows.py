"""Count grants per sliding window, the way an operator's SMSC would."""

from __future__ import annotations

from shaping.policy import WINDOW_US


def busiest(stamps: list[int], span: int = WINDOW_US) -> int:
    """Return the most stamps any half-open window [a, a + span) holds."""
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best
