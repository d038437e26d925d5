"""RQ jobs of the SMS pipeline: thin, taking plain values, moving outbox rows forward only."""

from __future__ import annotations

from datetime import date

from core.jobs import worker_runtime
from digests.daily import enqueue_daily
from digests.services import build_sender, requeue_from_outbox


def send_due(operator: str, priority: int, max_seconds: float = 600.0) -> dict[str, int]:
    """Send due messages (all operators; the job id names the group that asked) until idle."""
    rt = worker_runtime()
    sender = build_sender(rt)
    try:
        stats = sender.run(until_idle=True, stop_after=max_seconds)
    finally:
        sender.close()
    return {"submitted": stats.submitted, "accepted": stats.accepted}


def daily_digests(day: str) -> dict[str, int]:
    """Enqueue one school day's digests (ISO date), then the jobs that send them."""
    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        run = enqueue_daily(session, date.fromisoformat(day), rt.config, actor="worker")
    requeue_from_outbox(rt.sessions, rt.redis)
    return {"guardians": run.guardians, "drafts": run.drafts}


def requeue() -> list[str]:
    """Rebuild the sending jobs from the outbox (after a Redis wipe)."""
    rt = worker_runtime()
    return requeue_from_outbox(rt.sessions, rt.redis)
