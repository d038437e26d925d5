"""The health figures a cohort stage must keep (G3), gathered from what /status already measures.

USSD error rate and hop p99 (ussd.hop_metrics, the last hour), the SMS and write-back DLQs and
the write-back lag (the same queries /status runs). The rules that judge them are in
core/cohorts.py; this module only reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import func, select

from core.runtime import Runtime
from core.writeback import outbox
from digests.models import OutboxMessage, OutboxState
from ussd import hop_metrics


def figures(rt: Runtime, now: datetime) -> dict[str, Any]:
    """Return the figures the cohort thresholds name (None: not measured this time)."""
    out: dict[str, Any] = {}
    with rt.replica_sessions() as session:
        wb = outbox.lag(session, now)
        out["writeback_dlq"] = wb["dead"]
        out["writeback_lag_seconds"] = wb["oldest_unacked_seconds"]
        out["sms_dlq"] = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.state == OutboxState.DEAD_LETTERED.value)) or 0
    try:
        hops = hop_metrics.summary(rt.redis, now, minutes=60)
        out.update({"ussd_hops": hops.hops, "ussd_error_rate": hops.error_rate,
                    "ussd_hop_p99_ms": hops.p99_ms})
    except RedisError:
        out.update({"ussd_hops": None, "ussd_error_rate": None, "ussd_hop_p99_ms": None})
    return out


def sample(rt: Runtime) -> list[dict[str, Any]]:
    """Record one health sample per feature mid-rollout; hold any out of bounds (audited)."""
    from core import cohorts, wall

    now = rt.clock()
    seen = figures(rt, now)
    # The limits are the wall's (HUDOOR_WALL_THRESHOLDS or core/wall_thresholds.json).
    r = cohorts.rules(thresholds_file=rt.config.wall_thresholds_file or str(wall.DEFAULT))
    with rt.sessions() as session, session.begin():
        return [{"feature": s.feature, "percent": s.percent, "within": s.within}
                for s in cohorts.record_samples(session, seen, now, r)]
