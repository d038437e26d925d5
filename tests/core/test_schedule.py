"""Cron times are Cairo times on any host, and the warm caches last the whole morning spike."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from rq.cron import CronScheduler

from gateway import schedule
from core.calendar import CAIRO
from core.config import Config
from ussd.warmup import WARM_TTL


@pytest.fixture(params=["UTC", "Asia/Tokyo", "Africa/Cairo"])
def host_tz(request, monkeypatch):  # type: ignore[no-untyped-def]
    """Run the scheduler code as on a host in this time zone."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def _warm_job(cron: CronScheduler):  # type: ignore[no-untyped-def]
    schedule.register(cron, Config())
    return next(j for j in cron.get_jobs() if j.name == "warm_ussd")


def _morning(job, day: datetime) -> list[datetime]:  # type: ignore[no-untyped-def]
    """Every warm-up the scheduler enqueues from midnight (Cairo) of `day` until noon."""
    job.latest_enqueue_time = day.replace(hour=0, minute=0, tzinfo=CAIRO).astimezone(timezone.utc)
    runs = []
    while True:
        nxt = job.get_next_enqueue_time()
        if nxt.astimezone(CAIRO).hour >= 12 or nxt.astimezone(CAIRO).date() != day.date():
            return runs
        runs.append(nxt.astimezone(CAIRO))
        job.latest_enqueue_time = nxt


# A winter Sunday (UTC+2) and a summer Sunday (UTC+3, daylight saving time).
@pytest.mark.parametrize("day", [datetime(2026, 12, 6), datetime(2026, 7, 5)])
def test_warm_up_runs_in_cairo_time_through_the_morning_on_any_host(host_tz, day) -> None:  # type: ignore[no-untyped-def]
    runs = _morning(_warm_job(CronScheduler(connection=None)), day)  # type: ignore[arg-type]
    assert runs, f"no warm-up on a school morning ({host_tz} host)"
    assert runs[0].time() <= datetime(2000, 1, 1, 6, 30).time(), "warm before the first bell"
    covered_until = runs[-1] + timedelta(seconds=WARM_TTL)
    assert covered_until.time() >= datetime(2000, 1, 1, 10, 0).time(), "warm through the spike"
    gaps = [(b - a).total_seconds() for a, b in zip(runs, runs[1:])]
    assert all(g < WARM_TTL for g in gaps), "no cold gap between two warm-ups"


def test_no_warm_up_on_friday_or_saturday(host_tz) -> None:  # type: ignore[no-untyped-def]
    job = _warm_job(CronScheduler(connection=None))  # type: ignore[arg-type]
    assert _morning(job, datetime(2026, 12, 4)) == [] and _morning(job, datetime(2026, 12, 5)) == []


def test_next_cairo_crosses_daylight_saving_time() -> None:
    # Cairo moves to UTC+3 on the last Friday of April (24 April 2026).
    before = schedule.next_cairo("30 6 * * 0-4", datetime(2026, 4, 23, 12, tzinfo=timezone.utc))
    after = schedule.next_cairo("30 6 * * 0-4", before)
    assert before == datetime(2026, 4, 26, 3, 30, tzinfo=timezone.utc)  # Sunday 06:30 (+3)
    assert after == datetime(2026, 4, 27, 3, 30, tzinfo=timezone.utc)
    autumn = schedule.next_cairo("30 6 * * 0-4", datetime(2026, 10, 31, tzinfo=timezone.utc))
    assert autumn == datetime(2026, 11, 1, 4, 30, tzinfo=timezone.utc)  # Sunday 06:30 (+2)
