"""The guard a sender books with, following the arrival lateness it measures.

An operator counts messages per sliding second *as they arrive*. A constant delay between
a send moment and its arrival shifts every message alike and costs nothing; what crowds a
second is lateness that *drops*: a message that left at t and arrived late, followed
within the second by ones that arrived early (a stall released in a burst, a path that
speeds up, a descheduled sender catching up). If lateness falls by at most D within any
second, the arrivals in any one-second window left within 1 s + D of each other, so
spacing moments over ``1 s + D`` keeps every arrival window at or under the cap.

The sender observes, per message, ``lateness = answer received - booked moment`` (an
upper bound of the arrival lateness plus the way back; the same way back for all, so the
drops match). ``ArrivalMargin`` folds the samples as they come and books with the largest drop seen
within one window over the last ``memory`` seconds (a sender whose messages queue behind
each other on a busy machine shows it as a drop at each round's start, and must book
wider for it) - never under ``floor`` (the configured ``HUDOOR_SHAPER_GUARD_MS``), never
over ``ceiling``. A stall shows at once:
the first answer back after it is late by the stall, the next ones are not, and the next
booking spreads its moments over the extra span - the pause after the burst that keeps
the operator's next second whole. Quiet again for ``memory``, the margin falls back.

Pure (no clock, no I/O): every call takes its times, so tests drive it step by step.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

WINDOW_US = 1_000_000


def drops(samples: Iterable[tuple[int, int]], window_us: int = WINDOW_US) -> list[int]:
    """Return, per sample, how far its lateness lies below the latest within a window before.

    ``samples`` are ``(moment_us, lateness_us)``; for each (in moment order) the result is
    ``max(lateness of samples in (moment - window, moment)) - its lateness``, at least 0.
    """
    ordered = sorted(samples)
    out = []
    peak: deque[tuple[int, int]] = deque()  # sliding max of lateness over the last window
    for moment, late in ordered:
        while peak and peak[0][0] <= moment - window_us:
            peak.popleft()
        out.append(max(0, peak[0][1] - late) if peak else 0)
        while peak and peak[-1][1] <= late:
            peak.pop()
        peak.append((moment, late))
    return out


def max_drop(samples: Iterable[tuple[int, int]], window_us: int = WINDOW_US) -> int:
    """Return the largest fall of lateness between two samples less than a window apart."""
    return max(drops(samples, window_us), default=0)


class _Stream:
    """One operator's samples, folded as they come: O(1) amortised per sample.

    ``peak``: sliding max of lateness over the last window (to price each new sample's
    drop); ``worst``: sliding max of those drops over the memory; ``least``: sliding min of
    dispatch lateness over the memory. Answers come back nearly in moment order; one out
    of order is folded where it arrives, which only ever widens what it is compared with.
    """

    def __init__(self) -> None:
        self.peak: deque[tuple[int, int]] = deque()
        self.worst: deque[tuple[int, int]] = deque()
        self.least: deque[tuple[int, int]] = deque()


class ArrivalMargin:
    """Per-operator guard (µs) from the lateness drops measured in the last ``memory_us``."""

    def __init__(self, *, floor_us: int, ceiling_us: int = 500_000,
                 memory_us: int = 5 * WINDOW_US) -> None:
        if not 0 <= floor_us <= ceiling_us < WINDOW_US:
            raise ValueError(f"need 0 <= floor {floor_us} <= ceiling {ceiling_us} < 1 s")
        self.floor_us, self.ceiling_us, self.memory_us = floor_us, ceiling_us, memory_us
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()

    def _stream(self, key: str) -> _Stream:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream()
        return stream

    def observe(self, key: str, moment_us: int, lateness_us: int) -> None:
        """Record that the message booked for ``moment_us`` was answered ``lateness_us`` late."""
        with self._lock:
            stream = self._stream(key)
            peak, worst = stream.peak, stream.worst
            while peak and peak[0][0] <= moment_us - WINDOW_US:
                peak.popleft()
            drop = max(0, peak[0][1] - lateness_us) if peak else 0
            while peak and peak[-1][1] <= lateness_us:
                peak.pop()
            peak.append((moment_us, lateness_us))
            while worst and worst[-1][1] <= drop:
                worst.pop()
            worst.append((moment_us, drop))

    def observe_dispatch(self, key: str, moment_us: int, late_us: int) -> None:
        """Record how late a message was picked up to leave (before any network)."""
        with self._lock:
            least = self._stream(key).least
            while least and least[-1][1] >= late_us:
                least.pop()
            least.append((moment_us, late_us))

    def baseline_us(self, key: str, now_us: int) -> int:
        """Return the least dispatch lateness of the last ``memory``: what every message pays.

        A busy sender picks every message up some ms late; alike for all, that crowds no
        second. Only lateness beyond this baseline by more than the guard does.
        """
        with self._lock:
            least = self._stream(key).least
            while least and least[0][0] < now_us - self.memory_us:
                least.popleft()
            return least[0][1] if least else 0

    def guard_us(self, key: str, now_us: int) -> int:
        """Return the guard to book ``key``'s next moments with, as of ``now_us``."""
        with self._lock:
            worst = self._stream(key).worst
            while worst and worst[0][0] < now_us - self.memory_us:
                worst.popleft()
            drop = worst[0][1] if worst else 0
        return max(self.floor_us, min(self.ceiling_us, drop))
