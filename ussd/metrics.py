"""USSD hop health: counts and answer times in 5-minute buckets, for the cohort health samples.

Operational figures only (no number, no session id); losing them loses a measurement, never
a record — a stage with no figures is not healthy for longer, it just is not measured.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import redis
from redis.exceptions import RedisError

from ussd import keys

BUCKET_SECONDS = 300
KEEP_SECONDS = 2 * 24 * 3600
# Upper bounds (ms) of the answer-time histogram; a p99 is reported as the bound it falls under.
BOUNDS_MS = (50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000)


def _bucket(now: datetime) -> int:
    return int(now.timestamp()) // BUCKET_SECONDS


def record(conn: redis.Redis, now: datetime, elapsed_ms: float, failed: bool) -> None:
    """Count one hop (best effort: a metrics failure never fails the hop)."""
    bound = next((b for b in BOUNDS_MS if elapsed_ms <= b), 0)  # 0: slower than every bound
    key = keys.hop_stats(_bucket(now))
    try:
        pipe = conn.pipeline(transaction=False)
        pipe.hincrby(key, "n", 1)
        if failed:
            pipe.hincrby(key, "failed", 1)
        pipe.hincrby(key, f"le{bound}", 1)
        pipe.expire(key, KEEP_SECONDS)
        pipe.execute()
    except RedisError:
        pass


def figures(conn: redis.Redis, now: datetime, window: timedelta = timedelta(hours=1)) -> dict[str, Any]:
    """Return the error rate and p99 answer time over `window` (None when there were no hops)."""
    last = _bucket(now)
    first = _bucket(now - window) + 1
    pipe = conn.pipeline(transaction=False)
    for b in range(first, last + 1):
        pipe.hgetall(keys.hop_stats(b))
    total: dict[str, int] = {}
    for row in pipe.execute():
        for k, v in row.items():
            name = k.decode() if isinstance(k, bytes) else k
            total[name] = total.get(name, 0) + int(v)
    n = total.get("n", 0)
    if not n:
        return {"ussd_hops": 0, "ussd_error_rate": None, "ussd_hop_p99_ms": None}
    need, seen, p99 = 0.99 * n, 0, None
    for bound in BOUNDS_MS:
        seen += total.get(f"le{bound}", 0)
        if seen >= need:
            p99 = bound
            break
    if p99 is None:
        p99 = BOUNDS_MS[-1] * 2  # beyond the last bound: report it as clearly over
    return {"ussd_hops": n, "ussd_error_rate": round(total.get("failed", 0) / n, 4),
            "ussd_hop_p99_ms": p99}
