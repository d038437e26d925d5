"""Capture first: the signal that USSD capture is under pressure, for work that can wait.

Every USSD process reports its last second of hops (how many, how many slower than the
target) once a second. Past HUDOOR_SHED_HOPS_PER_SECOND hops a second across all
processes, or with more than 1 % of a process's hops slower than HUDOOR_SHED_SLOW_MS,
the signal is set for five seconds and renewed while the pressure lasts. SMS sending,
digest composition, report-day batches and write-back hold while it is set (R2): they
wait minutes without harm; a teacher on a feature phone cannot.

The signal is a Redis key with a TTL: nothing to rebuild if Redis is wiped, and if Redis
is down there is no signal and nothing is held (capture is failing anyway).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import redis

BUSY_KEY = "hudoor:capture:busy"
HOLD_SECONDS = 5
SLOW_SHARE = 0.01
MIN_HOPS_FOR_SHARE = 20  # a share of fewer hops says nothing


def _second_key(second: int) -> str:
    return f"hudoor:capture:hops:{second}"


@dataclass(frozen=True)
class Limits:
    hops_per_second: int  # 0: never shed on rate
    slow_ms: float


def report(conn: redis.Redis, limits: Limits, *, hops: int, slow: int,
           wall_second: int | None = None) -> str | None:
    """Add one process's hops of the last second; set the signal when past a limit.

    Returns the reason the signal was set, or None.
    """
    if hops <= 0:
        return None
    second = int(time.time()) if wall_second is None else wall_second
    pipe = conn.pipeline(transaction=False)
    pipe.incrby(_second_key(second), hops)
    pipe.expire(_second_key(second), 10)
    total = int(pipe.execute()[0])
    reason = None
    if limits.hops_per_second and total >= limits.hops_per_second:
        reason = f"{total} hops this second (limit {limits.hops_per_second})"
    elif hops >= MIN_HOPS_FOR_SHARE and slow / hops > SLOW_SHARE:
        reason = f"{slow} of {hops} hops slower than {limits.slow_ms:g} ms"
    if reason:
        conn.set(BUSY_KEY, reason, ex=HOLD_SECONDS)
    return reason


class Signal:
    """Read the signal, at most every `recheck` seconds per process (one GET)."""

    def __init__(self, conn: redis.Redis, recheck: float = 0.5,
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
