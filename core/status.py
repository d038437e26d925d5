"""Gather the honest numbers the status page and /metrics show."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.gate import service as gate_service
from core.runtime import QUEUES
from core.writeback import outbox
from core.models import DuplicateFlag, Person, QuarantinedRecord, Revocation, School, SchoolClass, SyncRun


def _run(session: Session, kind: str, status: str | None = None) -> dict[str, Any] | None:
    q = select(SyncRun).where(SyncRun.kind == kind)
    if status:
        q = q.where(SyncRun.status == status)
    run = session.scalars(q.order_by(SyncRun.id.desc()).limit(1)).first()
    if run is None:
        return None
    return {"id": run.id, "status": run.status, "scope": run.scope,
            "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "counts": json.loads(run.counts or "{}"),
            "dropped_fields": json.loads(run.dropped_fields or "{}"), "error": run.error}


REVOCATION_GOAL_SECONDS = 15 * 60  # what we aim for (SIMs, delegations, tokens, desk sessions)
REVOCATION_PROMISE_SECONDS = 60 * 60  # what we promise; HUDOOR_SYNC_INTERVAL_SECONDS ≤ 1800 keeps it


def revocation_lag(session: Session, now: datetime, window: timedelta) -> dict[str, Any]:
    """Summarise revocation lag (upstream change → SIMs, delegations, tokens, desk-console
    sessions removed) over `window`."""
    rows = session.execute(select(Revocation.lag_seconds, Revocation.tokens_revoked,
                                  Revocation.sessions_revoked)
                           .where(Revocation.applied_at >= now - window)).all()
    lags = sorted(lag for lag, _tokens, _sessions in rows)
    base = {"goal_seconds": REVOCATION_GOAL_SECONDS, "promise_seconds": REVOCATION_PROMISE_SECONDS,
            "tokens_revoked": sum(tokens for _lag, tokens, _sessions in rows),
            "sessions_revoked": sum(sessions for _lag, _tokens, sessions in rows)}
    if not lags:
        return {**base, "count": 0, "max_seconds": None, "p95_seconds": None, "within_goal": True}
    p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))]
    return {**base, "count": len(lags), "max_seconds": round(lags[-1], 1), "p95_seconds": round(p95, 1),
            "within_goal": lags[-1] <= REVOCATION_GOAL_SECONDS}


def queue_lag(conn: redis.Redis, now: datetime) -> dict[str, Any]:
    """Return each RQ queue's length and the age of its oldest waiting job (consumer lag)."""
    out: dict[str, Any] = {}
    for name in QUEUES:
        q = Queue(name, connection=conn)
        oldest = q.get_jobs(0, 1)
        age = None
        if oldest and oldest[0].enqueued_at:
            enq = oldest[0].enqueued_at
            age = round((now - enq).total_seconds(), 1) if enq.tzinfo else None
        out[name] = {"waiting": q.count, "oldest_age_seconds": age}
    return out


def collect(session: Session, conn: redis.Redis, now: datetime) -> dict[str, Any]:
    """Return everything /status shows, as plain data."""
    by_role: dict[str, dict[str, int]] = {}
    for role, active, n in session.execute(
            select(Person.role, Person.active, func.count()).group_by(Person.role, Person.active)):
        by_role.setdefault(role, {"active": 0, "inactive": 0})["active" if active else "inactive"] += n
    last_delta_ok = _run(session, "delta", "done")
    delta_age = None
    if last_delta_ok and last_delta_ok["finished_at"]:
        delta_age = round((now - datetime.fromisoformat(last_delta_ok["finished_at"])).total_seconds(), 1)
    data: dict[str, Any] = {
        "now": now.isoformat(),
        "schools": session.scalar(select(func.count()).select_from(School)),
        "classes": session.scalar(select(func.count()).select_from(SchoolClass)
                                  .where(SchoolClass.active.is_(True))),
        "people": by_role,
        "last_full_sync": _run(session, "full"),
        "last_delta_sync": _run(session, "delta"),
        "seconds_since_delta_sync": delta_age,
        "quarantine_open": session.scalar(select(func.count()).select_from(QuarantinedRecord)
                                          .where(QuarantinedRecord.resolved_at.is_(None))),
        "duplicates_open": session.scalar(select(func.count()).select_from(DuplicateFlag)
                                          .where(DuplicateFlag.status == "open")),
        "revocation_lag_24h": revocation_lag(session, now, timedelta(hours=24)),
        "gate": gate_service.state_counts(session),  # counts per state, never a ranking (G5)
        "writeback": outbox.lag(session, now),
    }
    try:
        data["queues"] = queue_lag(conn, now)
        data["redis"] = "ok"
    except RedisError as exc:
        data["queues"], data["redis"] = {}, f"unreachable: {type(exc).__name__}"
    return data
