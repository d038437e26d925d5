"""Write-back and reconciliation entry points shared by the CLI and the RQ jobs."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rq import Queue
from sqlalchemy import select

from core import calendar
from core.models import WritebackItem
from core.reconcile import reconcile_day
from core.runtime import Runtime
from core.writeback import outbox


def policy(rt: Runtime) -> outbox.Policy:
    """Return the retry policy from the settings."""
    return outbox.Policy(rt.config.writeback_max_attempts, rt.config.writeback_retry_base_seconds)


def drain(rt: Runtime, *, until_idle: bool = False) -> dict[str, int]:
    """Sweep new class-days into the outbox and send what is due."""
    since = calendar.to_cairo(rt.clock()).date() - timedelta(days=rt.config.writeback_window_days)
    client = rt.attendance_client()
    try:
        return outbox.drain(rt.sessions, client, rt.clock, policy(rt), since=since,
                            batch=rt.config.writeback_batch, until_idle=until_idle)
    finally:
        client.close()


def urgent_waiting(rt: Runtime) -> int:
    """Return how many capture jobs wait: write-back sheds itself while any do (R2)."""
    return int(Queue("urgent", connection=rt.redis).count)


def previous_school_day(day: date) -> date:
    """Return the last school day before `day`."""
    d = day - timedelta(days=1)
    while not calendar.is_school_day(d):
        d -= timedelta(days=1)
    return d


def nightly_days(rt: Runtime) -> list[date]:
    """Return the days tonight's run reconciles: the last school day, and any day changed since."""
    now = rt.clock()
    days = {previous_school_day(calendar.to_cairo(now).date())}
    with rt.sessions() as session:
        days.update(session.scalars(select(WritebackItem.day).where(
            WritebackItem.created_at >= now - timedelta(days=1)).distinct()))
    return sorted(days)


def reconcile(rt: Runtime, day: date, *, school: str | None = None,
              actor: str) -> list[dict[str, Any]]:
    """Reconcile one day's school-days and return their reports."""
    client = rt.attendance_client()
    try:
        results = reconcile_day(rt.sessions, client, day, school=school, actor=actor,
                                rounds=rt.config.reconcile_rounds, clock=rt.clock,
                                workers=rt.config.reconcile_workers)
    finally:
        client.close()
    return [r.as_dict() for r in results]
