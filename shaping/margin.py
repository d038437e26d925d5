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
drops match). ``ArrivalMargin`` folds the samples as they come and books with the largest
drift drop seen within one window over the last ``memory`` seconds, and with a burst (a
stall released at once; a sender whose messages queue behind each other on a busy machine
shows one at each round's start) for the ``pause`` after it: the first answer back after
a stall is late by the stall, the next ones are not, and the bookings of the next two
seconds spread their moments over the extra span - the pause after the burst that keeps
the operator's next second whole; then the burst is forgotten unless it recurs. Never
under ``floor`` (``HUDOOR_SHAPER_GUARD_MS``), never over ``ceiling``.

Pure (no clock, no I/O): every call takes its times, so tests drive it step by step.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

WINDOW_US = 1_000_000
BASELINE_US = 5 * WINDOW_US  # how far back the least dispatch lateness is taken
# Two messages whose arrivals lie at most 1/BURST_SLOPE as far apart as their moments came
# in a burst: they reached the operator at least twice as close together as booked.
BURST_SLOPE = 2


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

    ``peak``: sliding max of lateness over the last window, entries ``[moment, lateness,
    bunched]`` (to price each new sample's drop and say whether its peak arrived in a
    burst); ``recent``: sliding max of every drop over the pause; ``steady``: sliding max
    of the drift drops over the memory; ``least``: sliding min of dispatch lateness.
    Answers come back nearly in moment order; one out of order is folded where it
    arrives, which only ever widens what it is compared with.
    """

    def __init__(self) -> None:
        self.first: int | None = None  # moment of the first sample (the warm-up runs from it)
        self.last: tuple[int, int] | None = None  # (moment, arrival) of the previous sample
        self.peak: deque[list[int]] = deque()
        self.recent: deque[tuple[int, int]] = deque()
        self.steady: deque[tuple[int, int]] = deque()
        self.least: deque[tuple[int, int]] = deque()
        self.latest: int | None = None  # lateness of the last answer (the path's level now)
        self.sent: deque[int] = deque()  # moments picked up to leave, oldest first
        self.open: set[int] = set()  # those not answered yet


def _push_max(queue: deque[tuple[int, int]], moment_us: int, value: int) -> None:
    while queue and queue[-1][1] <= value:
        queue.pop()
    queue.append((moment_us, value))


def _head(queue: deque[tuple[int, int]], since_us: int) -> int:
    while queue and queue[0][0] < since_us:
        queue.popleft()
    return queue[0][1] if queue else 0


class ArrivalMargin:
    """Per-operator guard (µs) from the lateness drops measured per operator.

    Two memories, because two kinds of drop cost differently:

    * a **drift** of the path (queues filling and draining) falls again and again: the
      largest drift drop of the last ``memory_us`` (30 s) is the guard every booking keeps;
    * a **burst** - a drop from a message that reached the operator bunched with the one
      before it (arrivals at most half as far apart as their moments: a stall released at
      once, a sender catching up), or a drop *to* such a message - is paid for once: it
      counts for ``pause_us`` (2 s) after its moment, long enough for the bookings made
      then (up to a horizon ahead) to span the burst and the second after it, and is then
      forgotten; one that recurs (a sender late at every round's start) is measured again
      before it is forgotten. Kept for the whole memory, one 300 ms stall held every
      operator at cap / 1.3 for it.

    A stall under way counts before its release (``_held_us``): the oldest message picked
    up and not answered, beyond the most the last second's answers were late.

    ``initial_us`` (0 by default: off) books at least that much before ``warmup_us`` of
    samples. Tried at 100 ms in the scaled caps bench, it did not remove the rejections in
    a run's first seconds (those follow the senders' start, docs/BENCHMARKS.md), and it
    made every first round's give-back tolerance 100 ms.
    """

    def __init__(self, *, floor_us: int, ceiling_us: int = 500_000,
                 memory_us: int = 30 * WINDOW_US, pause_us: int = 2 * WINDOW_US,
                 initial_us: int = 0, warmup_us: int = 3 * WINDOW_US) -> None:
        if not 0 <= floor_us <= ceiling_us < WINDOW_US:
            raise ValueError(f"need 0 <= floor {floor_us} <= ceiling {ceiling_us} < 1 s")
        if not 0 < pause_us <= memory_us:
            raise ValueError(f"need 0 < pause {pause_us} <= memory {memory_us}")
        self.floor_us, self.ceiling_us, self.memory_us = floor_us, ceiling_us, memory_us
        self.pause_us, self.initial_us, self.warmup_us = pause_us, initial_us, warmup_us
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
            if stream.first is None:
                stream.first = moment_us
            peak = stream.peak
            arrival = moment_us + lateness_us
            bunched = False
            if stream.last is not None and moment_us > stream.last[0]:
                gap = moment_us - stream.last[0]
                bunched = (arrival - stream.last[1]) * BURST_SLOPE <= gap
                if bunched and peak and peak[-1][0] == stream.last[0]:
                    peak[-1][2] = 1  # the one before arrived with this one: a burst too
            stream.last = (moment_us, arrival)
            stream.latest = lateness_us
            stream.open.discard(moment_us)
            while peak and peak[0][0] <= moment_us - WINDOW_US:
                peak.popleft()
            drop, burst = 0, bunched
            if peak:
                drop, burst = max(0, peak[0][1] - lateness_us), bunched or bool(peak[0][2])
            while peak and peak[-1][1] <= lateness_us:
                peak.pop()
            peak.append([moment_us, lateness_us, int(bunched)])
            _push_max(stream.recent, moment_us, drop)
            if not burst:  # a drift: it will come again
                _push_max(stream.steady, moment_us, drop)

    def observe_dispatch(self, key: str, moment_us: int, late_us: int) -> None:
        """Record how late a message was picked up to leave (before any network)."""
        with self._lock:
            stream = self._stream(key)
            least = stream.least
            while least and least[-1][1] >= late_us:
                least.pop()
            least.append((moment_us, late_us))
            stream.sent.append(moment_us)
            stream.open.add(moment_us)

    def baseline_us(self, key: str, now_us: int) -> int:
        """Return the least dispatch lateness of the last 5 s: what every message pays.

        A busy sender picks every message up some ms late; alike for all, that crowds no
        second. Only lateness beyond this baseline by more than the guard does.
        """
        with self._lock:
            least = self._stream(key).least
            while least and least[0][0] < now_us - BASELINE_US:
                least.popleft()
            return least[0][1] if least else 0

    def _held_us(self, stream: _Stream, now_us: int) -> int:
        """Return how much later than the latest answers the oldest unanswered message is.

        A stall shows here while it lasts: nothing comes back, and the oldest message out
        ages past the most any answer of the last second was late (the last answer's
        lateness when none is that recent; a single slow answer is no stall). Its release
        will be a burst of that size, so the bookings made during the stall already pay
        for it (waiting for the
        first answer after it, the sender had booked up to a horizon more at full rate,
        and the burst plus those filled the operator's next second to the cap or over).
        A message never answered (an error) stops counting after ``pause_us``.
        """
        sent, unanswered = stream.sent, stream.open
        while sent and (sent[0] not in unanswered or sent[0] < now_us - self.pause_us):
            unanswered.discard(sent.popleft())
        if not sent:
            return 0
        peak = stream.peak
        while peak and peak[0][0] <= now_us - WINDOW_US:
            peak.popleft()
        level = peak[0][1] if peak else (stream.latest or 0)
        return max(0, now_us - sent[0] - level)

    def guard_us(self, key: str, now_us: int) -> int:
        """Return the guard to book ``key``'s next moments with, as of ``now_us``."""
        with self._lock:
            stream = self._stream(key)
            drop = max(_head(stream.steady, now_us - self.memory_us),
                       _head(stream.recent, now_us - self.pause_us),
                       self._held_us(stream, now_us))
            if self.warmup_us and (stream.first is None
                                   or now_us - stream.first < self.warmup_us):
                drop = max(drop, self.initial_us)
        return max(self.floor_us, min(self.ceiling_us, drop))
