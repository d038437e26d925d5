"""RQ jobs of the SMS pipeline: thin, taking plain values, moving outbox rows forward only."""

from __future__ import annotations

from datetime import date

from core import capture_load
from core.runtime import worker_runtime
from digests.daily import enqueue_daily
from digests.services import build_sender, requeue_from_outbox

REPORT_DAY_MAX_HOLD_SECONDS = 600.0  # a chunk waits out a USSD spike, then goes anyway


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
        run = enqueue_daily(session, date.fromisoformat(day), rt.config, actor="worker",
                            now=rt.clock())
    requeue_from_outbox(rt.sessions, rt.redis, rt.clock())
    return {"guardians": run.guardians, "drafts": run.drafts}


def corrections() -> int:
    """Enqueue correction SMS for approved adjustments (scheduled every few minutes)."""
    from digests.corrections import enqueue_corrections

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        added = enqueue_corrections(session, rt.config, rt.clock())
    if added:
        requeue_from_outbox(rt.sessions, rt.redis, rt.clock())
    return added


def requeue() -> list[str]:
    """Rebuild all unfinished SMS work from SQL (scheduled every minute; after a Redis wipe)."""
    from digests.services import requeue_all

    return requeue_all(worker_runtime())


def digests_if_due() -> str:
    """After the day's digest time on a school day, finish the daily digests and the absence
    alerts of classes confirmed since (scheduled every few minutes).

    "Done" is the run's `digest_runs` row, written in the run's own transaction: a run
    that crashed part-way left no row and is simply run again at the next tick, and the
    outbox keys make sure no guardian is told twice.
    """
    from core import calendar, calendar_store
    from digests.alerts import enqueue_late_alerts
    from digests.daily import finished
    from digests.keys import digests_running

    rt = worker_runtime()
    pressure = capture_load.Signal(rt.redis).reason()
    if pressure:  # capture first (R2): the next tick, five minutes on, tries again
        return f"held: capture under pressure ({pressure})"
    now = rt.clock()
    local = calendar.to_cairo(now)
    day = local.date()
    with rt.sessions() as session:
        cal = calendar_store.current(session, rt.config)
    # Composed once every school's digest time has passed (Ramadan hours differ by governorate).
    if not cal.any_school_day(day) or local < cal.latest_digest_at(day):
        return "not due"
    # Only keeps two overlapping ticks from doing the same work twice; SQL says what is done.
    if not rt.redis.set(digests_running(day.isoformat()), 1, nx=True, ex=900):
        return "already running"
    try:
        with rt.sessions() as session, session.begin():
            run = None if finished(session, day) else enqueue_daily(
                session, day, rt.config, actor="scheduler", now=now)
            alerts = enqueue_late_alerts(session, day, rt.config, now)
    finally:
        rt.redis.delete(digests_running(day.isoformat()))
    requeue_from_outbox(rt.sessions, rt.redis, now)
    if run is None:
        return "already enqueued today" + (f"; {alerts} absence alerts" if alerts else "")
    return f"enqueued {run.drafts} digests for {run.guardians} guardians"


def report_day_chunk(chunk_id: int) -> int:
    """Compose and enqueue one report-day chunk (workers take chunks in parallel)."""
    from digests.report_day import run_chunk

    rt = worker_runtime()
    capture_load.wait_while_busy(capture_load.Signal(rt.redis), REPORT_DAY_MAX_HOLD_SECONDS)
    replica = rt.fresh_reads()
    with rt.sessions() as session, session.begin():
        if replica is rt.sessions:  # the primary: read in the writing session itself
            drafts = run_chunk(session, chunk_id, rt.config, rt.clock())
        else:
            with replica() as reads:
                drafts = run_chunk(session, chunk_id, rt.config, rt.clock(), reads=reads)
    requeue_from_outbox(rt.sessions, rt.redis, rt.clock())
    return drafts


def forget_inbound_ids() -> int:
    """Drop inbound-SMS ids past any retry window (scheduled daily)."""
    from digests.inbound import forget_old_ids

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        return forget_old_ids(session, rt.clock())


def privacy_requests() -> dict[str, int]:
    """Answer guardians' data requests and gate waiting SMS on consent (scheduled every minute)."""
    from digests.privacy_copy import process

    rt = worker_runtime()
    with rt.sessions() as session, session.begin():
        done = process(session, rt.config, rt.clock())
    if done.copies:
        requeue_from_outbox(rt.sessions, rt.redis, rt.clock())
    return {"copies": done.copies, "erased": done.erased, "withdrawn": done.withdrawn}
