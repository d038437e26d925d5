"""A sender, a path and an operator in simulated time, for the path margin's properties.

The sender books moments as ``digests/sender.py`` does (``shaping.policy.pace``, the
Lua's mirror: a horizon of 0.5 s, the next booking while 150 ms of moments remain) with
the guard a margin gives, books nothing while the margin says the path is stalled, and
reports every pick-up and answer to it. The path delays each message (``delay_us``) and
the operator counts arrivals per sliding second, as simulator/network.py does. Booking
arrivals, a moment leaves the margin's ``lead_us`` before itself and the messages it hands
back (``take_moved``) are moved in the log as ``RateShaper.rebook`` does in Redis.
``simulated_path`` is the bench's own path model (simulator/latency.py) on simulated time.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Protocol

from shaping.policy import WINDOW_US, Priority, pace
from simulator.latency import PathLatency

HORIZON_US = 500_000
LEAD_US = 150_000
BOOK_LEAD_US = 30_000
RETRY_US = 20_000
KEY = "we"


class Margin(Protocol):
    def dispatched(self, key: str, moment_us: int, late_us: int,
                   leave_us: int | None = None) -> None: ...

    def sent(self, key: str, moment_us: int, at_us: int) -> None: ...

    def answered(self, key: str, moment_us: int, at_us: int) -> None: ...

    def stalled(self, now_us: int) -> bool: ...

    def guard_us(self, now_us: int) -> int: ...

    def lead_us(self, now_us: int) -> int: ...

    def take_moved(self) -> list[tuple[str, int, int]]: ...


def run(margin: Margin, cap: int, seconds: float, arrival: Callable[[int], int],
        late: Callable[[int], int] = lambda _: 0,
        trace: list[tuple[int, int, int]] | None = None) -> list[int]:
    """Send at cap for ``seconds``; return every message's arrival at the operator (µs).

    ``trace`` collects (moment, sent, arrival) of every message when given.
    ``arrival(sent_us)`` is when a message sent then reaches the operator (its answer is
    read 1 ms later); ``late(moment_us)`` how late the sender picks a moment up. A moment
    leaves ``margin.lead_us`` before itself (0 when moments are departures), read again
    every ``RETRY_US`` while waiting, as digests/moments.py does.
    """
    end = int(seconds * WINDOW_US)
    events: list[tuple[int, int, str, int]] = [(0, 0, "book", 0)]
    log: list[int] = []
    next_free, seq = 0, 1
    arrivals: list[int] = []
    while events:
        now, _, kind, moment = heapq.heappop(events)
        if kind == "wait":  # wait for the moment less the path's delay, which moves
            leave = moment - margin.lead_us(now)
            if leave - now > RETRY_US:
                heapq.heappush(events, (now + RETRY_US, seq, "wait", moment))
            else:
                heapq.heappush(events, (max(now, leave) + late(moment), seq, f"send{leave}",
                                        moment))
        elif kind.startswith("send"):
            leave = int(kind[4:])
            margin.dispatched(KEY, moment, now - leave, leave)
            margin.sent(KEY, moment, now)
            reached = arrival(now)
            arrivals.append(reached)
            if trace is not None:
                trace.append((moment, now, reached))
            heapq.heappush(events, (reached + 1000, seq, "answer", moment))
        elif kind == "answer":
            margin.answered(KEY, moment, now)
        elif now < end:  # book
            if margin.stalled(now):
                heapq.heappush(events, (now + RETRY_US, seq, "book", 0))
                seq += 1
                continue
            span = WINDOW_US + margin.guard_us(now)
            log = [t for t in log if t > now - 2 * WINDOW_US]
            for _, booked, arrived in margin.take_moved():  # RateShaper.rebook's mirror
                if booked in log:
                    log.remove(booked)
                log.append(arrived)
            lead = min(BOOK_LEAD_US + margin.lead_us(now), HORIZON_US // 2)
            got = pace(log, next_free, now, cap, Priority.URGENT, cap, span_us=span,
                       horizon_us=HORIZON_US, lead_us=lead, urgent_share=0)
            moments = [now + d for d in got.delays_us]
            log += moments
            next_free = got.next_free_us
            for m in moments:
                heapq.heappush(events, (now, seq, "wait", m))
                seq += 1
            after = max(now + RETRY_US,
                        (moments[-1] if moments else now) - LEAD_US - margin.lead_us(now))
            heapq.heappush(events, (after, seq, "book", 0))
        seq += 1
    return arrivals


def stall_path(base_us: int, start_us: int, length_us: int) -> Callable[[int], int]:
    """A path ``base_us`` long that holds whatever enters it in [start, start + length)."""

    def arrival(sent: int) -> int:
        held = start_us + length_us if start_us <= sent < start_us + length_us else sent
        return held + base_us + (sent * 7919) % 1000  # up to 1 ms of noise

    return arrival


class FixedGuard:
    """The margin before issue 16: a fixed guard, blind to stalls (the control)."""

    def __init__(self, guard_us: int) -> None:
        self._guard = guard_us

    def dispatched(self, key: str, moment_us: int, late_us: int,
                   leave_us: int | None = None) -> None:
        pass

    def lead_us(self, now_us: int) -> int:
        return 0

    def take_moved(self) -> list[tuple[str, int, int]]:
        return []

    def sent(self, key: str, moment_us: int, at_us: int) -> None:
        pass

    def answered(self, key: str, moment_us: int, at_us: int) -> None:
        pass

    def stalled(self, now_us: int) -> bool:
        return False

    def guard_us(self, now_us: int) -> int:
        return self._guard


def simulated_path(seed: int, *, stall_us: int = 300_000, stall_every: float = 15.0,
                   low_us: int = 5_000, high_us: int = 80_000) -> tuple[Callable[[int], int],
                                                                           PathLatency]:
    """The bench's path (simulator/latency.py: a delay random-walking a tenth of the range
    every 100 ms, stalls of ``stall_us`` at exponential gaps), on simulated µs."""
    path = PathLatency(low_us / 1e6, high_us / 1e6, stall=stall_us / 1e6,
                       stall_every=stall_every, seed=seed)
    return (lambda sent: sent + int(path.delay(sent / 1e6) * 1e6)), path


def passable_share(arrivals: list[int], cap: int, path: PathLatency, start_us: int,
                   end_us: int) -> float:
    """Share of cap x (time less the stalled time) the arrivals in [start, end) used."""
    counted = sum(1 for t in arrivals if start_us <= t < end_us)
    stalled = sum(max(0.0, min(end, end_us / 1e6) - max(start, start_us / 1e6))
                  for start, end in path.spans) * 1e6
    return counted / (cap * (end_us - start_us - stalled) / 1e6)
