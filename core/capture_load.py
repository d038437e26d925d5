"""Capture first: the signal that USSD capture is under pressure, for work that can wait.

Every USSD process adds its hops to the wall clock's quarter second four times a second,
and once a second its share of hops slower than the target. When a quarter second's count
across all processes is on pace for HUDOOR_SHED_HOPS_PER_SECOND (a quarter of it), or more
than 1 % of a process's hops of its last second were slower than HUDOOR_SHED_SLOW_MS, the
signal is set for five seconds and renewed while the pressure lasts. So a spike trips it
at a process's first report, a quarter second in, not a second or more (measured:
shedding_bench's "tripped"). A process reports at most once a quarter, so a quarter's
count is never two windows of one process. SMS sending, digest composition, report-day
batches and write-back hold while it is set (R2): they wait minutes without harm; a
teacher on a feature phone cannot.

The signal is a Redis key with a TTL: nothing to rebuild if Redis is wiped, and if Redis
is down there is no signal and nothing is held (capture is failing anyway).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import redis

BUSY_KEY = "hudoor:capture:busy"
HOLD_SECONDS = 5
SLOW_SHARE = 0.01
MIN_HOPS_FOR_SHARE = 20  # a share of fewer hops says nothing
QUARTERS = 4  # counts are kept per quarter of a wall second: a report's window


def _quarter_key(quarter: int) -> str:
    return f"hudoor:capture:hops:q{quarter}"


class Share(NamedTuple):
    """A process's last share window (about a second): `slow` of its `hops` missed the target."""

    slow: int
    hops: int


@dataclass(frozen=True)
class Limits:
    hops_per_second: int  # 0: never shed on rate
    slow_ms: float


def report(conn: redis.Redis, limits: Limits, *, hops: int, seconds: float | None = None,
           share: Share | None = None, wall: float | None = None) -> str | None:
    """Add one process's hops since its last report, `seconds` ago, to the wall clock's
    quarter second, and judge its share window when one ended (`share`); set the signal
    when past a limit.

    Hops over a window longer than a quarter count at its pace: a process reports on its
    next hop, so a busy minute's last hops, reported after a lull, are not a spike now.

    Returns the reason the signal was set, or None.
    """
    if hops <= 0:
        return None
    if seconds is not None and seconds * QUARTERS > 1:
        hops = round(hops / (seconds * QUARTERS))
    key = _quarter_key(int((time.time() if wall is None else wall) * QUARTERS))
    pipe = conn.pipeline(transaction=False)
    pipe.incrby(key, hops)
    pipe.expire(key, 10)
    total = int(pipe.execute()[0])
    reason = None
    if limits.hops_per_second and total * QUARTERS >= limits.hops_per_second:
        reason = (f"{total} hops in a quarter second "
                  f"(limit {limits.hops_per_second} a second)")
    elif (share is not None and share.hops >= MIN_HOPS_FOR_SHARE
          and share.slow / share.hops > SLOW_SHARE):
        reason = f"{share.slow} of {share.hops} hops slower than {limits.slow_ms:g} ms"
    if reason:
        conn.set(BUSY_KEY, reason, ex=HOLD_SECONDS)
    return reason


class Signal:
    """Read the signal, at most every `recheck` seconds per process (one GET)."""

    def __init__(self, conn: redis.Redis, recheck: float = 0.25,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._conn, self._recheck, self._monotonic = conn, recheck, monotonic
        self._at, self._reason = -1e9, None  # type: float, str | None

    def reason(self) -> str | None:
        """Why capture is under pressure now, or None."""
        now = self._monotonic()
        if now - self._at >= self._recheck:
            try:
                raw = self._conn.get(BUSY_KEY)
            except redis.RedisError:
                raw = None  # no Redis, no signal: holding work would not help capture
            self._reason = raw.decode() if isinstance(raw, bytes) else raw
            self._at = now
        return self._reason

    def busy(self) -> bool:
        return self.reason() is not None


def wait_while_busy(signal: Signal, max_seconds: float,
                    sleep: Callable[[float], None] = time.sleep) -> float:
    """Hold until the signal clears or `max_seconds` pass; return the seconds held."""
    held = 0.0
    while held < max_seconds and signal.busy():
        sleep(1.0)
        held += 1.0
    return held
