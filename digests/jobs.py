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


def corrections() -> int:
    """Enqueue correction SMS for approved adjustments (scheduled every few minutes)."""
    from digests.corrections import enqueue_corrections

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        added = enqueue_corrections(session, rt.config, rt.clock())
    if added:
        requeue_from_outbox(rt.sessions, rt.redis)
    return added


def requeue() -> list[str]:
    """Rebuild the sending jobs from the outbox (after a Redis wipe)."""
    rt = worker_runtime()
    return requeue_from_outbox(rt.sessions, rt.redis)


def digests_if_due() -> str:
    """At the day's cut-off on a school day, enqueue the daily digests once (scheduled often)."""
    from core import calendar
    from digests.keys import digests_started

    rt = worker_runtime()
    now = calendar.to_cairo(rt.clock())
    if not calendar.is_school_day(now.date()) or now.time() < rt.config.digest_cutoff_time:
        return "not due"
    if not rt.redis.set(digests_started(now.date().isoformat()), 1, nx=True, ex=3 * 86400):
        return "already enqueued today"
    result = daily_digests(now.date().isoformat())
    return f"enqueued {result['drafts']} digests for {result['guardians']} guardians"


def report_day_chunk(chunk_id: int) -> int:
    """Compose and enqueue one report-day chunk (workers take chunks in parallel)."""
    from digests.report_day import run_chunk

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        drafts = run_chunk(session, chunk_id, rt.config, rt.clock())
    requeue_from_outbox(rt.sessions, rt.redis)
    return drafts


def forget_inbound_ids() -> int:
    """Drop inbound-SMS ids past any retry window (scheduled daily)."""
    from core.models import utcnow
    from digests.inbound import forget_old_ids

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        return forget_old_ids(session, utcnow())
