"""USSD hop latency and errors over the last minutes, for the wall (R1).

Each process counts its hops in a small latency histogram per minute and adds it to Redis
at most four times a second (one pipelined HINCRBY per non-empty bucket), so a hop pays no
Redis round trip of its own. The same flush feeds the capture-load signal (its rate, so it
trips a quarter second into a spike; once a second, its slow share). The wall merges the
last minutes' histograms of every process and reads p99 from the bucket edges: an upper
bound, never flattering.
These counters are observability, not records: losing them loses no attendance.
"""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import redis

from core import capture_load
from ussd import keys

# Upper edges in milliseconds. A hop slower than the last edge counts in the last bucket:
# the operator gave up on it long before.
EDGES_MS = (5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 60000)
OVER = len(EDGES_MS)
ERRORS = "err"
KEEP_SECONDS = 2 * 3600  # the cohort health sample reads the last hour


def bucket(ms: float) -> int:
    """Return the histogram bucket of a hop that took `ms` milliseconds."""
    return bisect_left(EDGES_MS, ms)


class HopRecorder:
    """A process's hop counts, flushed to Redis at most once per `every` seconds; the slow
    share is judged over windows of at least `share_every` seconds (a share of a quarter
    second's hops would trip on a single slow one)."""

    def __init__(self, every: float = 0.25, share_every: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._every, self._share_every, self._monotonic = every, share_every, monotonic
        self._lock = threading.Lock()
        self._pending: dict[int, Counter[str]] = {}
        self._flushed = self._shared = monotonic()
        self._limits: capture_load.Limits | None = None
        self._hops = 0  # since the last flush: the capture-load signal's rate
        self._share_hops = self._slow = 0  # since the last share window ended

    def record(self, conn: redis.Redis, now: datetime, ms: float, *, error: bool,
               limits: capture_load.Limits | None = None) -> None:
        """Count one hop (its minute from `now`) and flush when a second has passed."""
        minute = int(now.timestamp()) // 60
        with self._lock:
            counts = self._pending.setdefault(minute, Counter())
            counts[str(bucket(ms))] += 1
            if error:
                counts[ERRORS] += 1
            self._limits = limits or self._limits
            self._hops += 1
            self._share_hops += 1
            self._slow += int(self._limits is not None and ms > self._limits.slow_ms)
            due = self._monotonic() - self._flushed >= self._every
        if due:
            self.flush(conn)

    def forget(self) -> None:
        """Drop what this process counted and has not flushed (tests: a fresh start)."""
        with self._lock:
            self._pending, self._limits = {}, None
            self._hops = self._share_hops = self._slow = 0

    def flush(self, conn: redis.Redis) -> None:
        """Add what this process counted to Redis (a lost flush loses counts, nothing else),
        and report the window to the capture-load signal."""
        with self._lock:
            pending, self._pending = self._pending, {}
            hops, self._hops = self._hops, 0
            now = self._monotonic()
            seconds, self._flushed = now - self._flushed, now
            if not pending:
                return
            share = None
            if now - self._shared >= self._share_every:
                share = capture_load.Share(slow=self._slow, hops=self._share_hops)
                self._share_hops = self._slow = 0
                self._shared = now
        if self._limits is not None:
            try:
                capture_load.report(conn, self._limits, hops=hops, seconds=seconds, share=share)
            except redis.RedisError:
                pass
        pipe = conn.pipeline(transaction=False)
        for minute, counts in pending.items():
            key = keys.hop_minute(minute)
            for field, n in counts.items():
                pipe.hincrby(key, field, n)
            pipe.expire(key, KEEP_SECONDS)
        try:
            pipe.execute()
        except redis.RedisError:
            pass  # the wall shows fewer hops; a hop never fails for its own metrics


@dataclass(frozen=True)
class HopSummary:
    minutes: int
    hops: int
    errors: int
    p99_ms: float | None  # the upper edge of the bucket holding the 99th percentile

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.hops if self.hops else None

    def as_json(self) -> dict[str, object]:
        rate = self.error_rate
        return {"minutes": self.minutes, "hops": self.hops, "errors": self.errors,
                "error_rate": None if rate is None else round(rate, 4), "p99_ms": self.p99_ms}


def summary(conn: redis.Redis, now: datetime, minutes: int = 5) -> HopSummary:
    """Merge every process's counts over the last `minutes` whole and current minutes."""
    last = int(now.timestamp()) // 60
    pipe = conn.pipeline(transaction=False)
    for minute in range(last - minutes + 1, last + 1):
        pipe.hgetall(keys.hop_minute(minute))
    merged: Counter[str] = Counter()
    for raw in pipe.execute():
        for field, n in raw.items():
            merged[field.decode() if isinstance(field, bytes) else field] += int(n)
    errors = merged.pop(ERRORS, 0)
    hops = sum(merged.values())
    return HopSummary(minutes, hops, errors, _p99(merged, hops))


def _p99(counts: Counter[str], hops: int) -> float | None:
    if not hops:
        return None
    need, seen = hops * 0.99, 0
    for index in range(OVER + 1):
        seen += counts.get(str(index), 0)
        if seen >= need:
            return float(EDGES_MS[min(index, OVER - 1)])
    return float(EDGES_MS[-1])
