"""Upstream suspension or termination removes access in the scheduled delta sync that sees it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import select

from core import runtime as core_runtime
from gateway import schedule
from core.config import Config, ConfigError
from core.models import Contact, ContactKind, Delegation, Person, Revocation, SchoolClass, utcnow
from tests.support.production import production_env


def _teacher_with_access(rt, sandbox):  # type: ignore[no-untyped-def]
    """Give a synced teacher a bound SIM and delegations both ways (factories)."""
    school = sandbox.district.schools()[0]["id"]
    staff = [p for p in sandbox.district.roster(school) if p["role"] == "teacher"]
    teacher, substitute = staff[0], staff[1]
    with rt.sessions() as s, s.begin():
        t = s.scalars(select(Person).where(Person.upstream_id == teacher["id"])).one()
        sub = s.scalars(select(Person).where(Person.upstream_id == substitute["id"])).one()
        cls = s.scalars(select(SchoolClass).where(SchoolClass.upstream_id == teacher["class_ids"][0])).one()
        s.add(Contact(person_id=t.id, msisdn="+201001234567", kind=ContactKind.STAFF.value))
        s.add(Contact(person_id=sub.id, msisdn="+201201234567", kind=ContactKind.STAFF.value))
        s.add(Delegation(class_id=cls.id, grantor_id=t.id, grantee_id=sub.id,
                         ends_at=utcnow() + timedelta(days=3)))
        s.add(Delegation(class_id=cls.id, grantor_id=sub.id, grantee_id=t.id,
                         ends_at=utcnow() + timedelta(days=3)))
    return teacher, substitute


@pytest.fixture
def worker_env(synced, sandbox, monkeypatch):  # type: ignore[no-untyped-def]
    cfg = synced.config
    monkeypatch.setenv("HUDOOR_DATABASE_URL", cfg.effective_database_url)
    monkeypatch.setenv("HUDOOR_REDIS_URL", cfg.redis_url)
    monkeypatch.setenv("HUDOOR_UPSTREAM_URL", sandbox.url)
    monkeypatch.setenv("HUDOOR_VAR_DIR", str(cfg.var_dir))  # the audit anchors go there
    monkeypatch.setattr(core_runtime, "_worker_runtime", None)
    yield synced
    if core_runtime._worker_runtime is not None:
        core_runtime._worker_runtime.close()


def test_scheduled_delta_revokes_access_and_records_the_lag(worker_env, sandbox, client):  # type: ignore[no-untyped-def]
    rt = worker_env
    teacher, substitute = _teacher_with_access(rt, sandbox)
    sandbox.district.set_status(teacher["id"], "terminated")

    cron = CronScheduler(connection=rt.redis)
    schedule.register(cron, rt.config)
    delta = next(j for j in cron.get_jobs() if j.name == "sync_delta")
    assert delta.interval == rt.config.sync_interval_seconds
    assert delta in cron.enqueue_jobs(), "the delta sync is due at start"
    assert Queue("sync", connection=rt.redis).count == 1
    SimpleWorker([Queue(q, connection=rt.redis) for q in core_runtime.QUEUES],
                 connection=rt.redis).work(burst=True)

    with rt.sessions() as s:
        t = s.scalars(select(Person).where(Person.upstream_id == teacher["id"])).one()
        sub = s.scalars(select(Person).where(Person.upstream_id == substitute["id"])).one()
        assert t.status == "terminated"
        assert all(c.revoked_at is not None for c in s.scalars(select(Contact).where(Contact.person_id == t.id)))
        assert all(c.revoked_at is None for c in s.scalars(select(Contact).where(Contact.person_id == sub.id)))
        assert all(d.revoked_at is not None for d in s.scalars(select(Delegation)))  # given and held
        rev = s.scalars(select(Revocation)).one()
        assert rev.person_id == t.id and rev.contacts_revoked == 1 and rev.delegations_revoked == 2
        assert 0 <= rev.lag_seconds < 60
    data = client.get("/status.json").get_json()
    assert data["revocation_lag_24h"]["count"] == 1
    assert data["revocation_lag_24h"]["max_seconds"] < 60
    assert data["last_delta_sync"]["counts"]["revoked"] == 1
    assert "hudoor_revocation_lag_max_seconds" in client.get("/metrics").get_data(as_text=True)


def test_a_leaver_with_access_loses_it_too(synced, sandbox):  # type: ignore[no-untyped-def]
    from core.sync.delta import run_delta

    teacher, _ = _teacher_with_access(synced, sandbox)
    sandbox.district.leave(teacher["id"])
    report = run_delta(synced.sessions, synced.upstream())
    assert report.counts.deactivated == 1 and report.counts.revoked == 1
    with synced.sessions() as s:
        assert s.scalars(select(Revocation.status)).one() == "left"


def test_the_sync_interval_cannot_break_the_one_hour_promise() -> None:
    with pytest.raises(ConfigError, match="revocation"):
        Config.from_env(production_env(HUDOOR_SYNC_INTERVAL_SECONDS="7200"))
    cron = CronScheduler(connection=None)  # type: ignore[arg-type]
    schedule.register(cron, Config(sync_interval_seconds=7200))
    delta = next(j for j in cron.get_jobs() if j.name == "sync_delta")
    assert delta.interval == schedule.MAX_SYNC_INTERVAL_SECONDS


def test_scheduler_also_runs_the_sms_pipeline_and_digests_fire_once_a_day(worker_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from digests import jobs as sms_jobs

    rt = worker_env
    cron = CronScheduler(connection=rt.redis)
    schedule.register(cron, rt.config)
    assert {j.name for j in cron.get_jobs()} == {"sync_delta", "sms_requeue", "digests_if_due",
                                                 "warm_ussd", "forget_inbound_ids", "anchor_audit",
                                                 "gate_evaluate", "sms_corrections", "writeback_send_due",
                                                 "reconcile_nightly", "expire_adjustments",
                                                 "cohort_health", "privacy_requests", "retention_purge",
                                                 "sla_overdue"}
    assert sms_jobs.forget_inbound_ids() == 0  # runs in a worker: nothing a week old yet
    assert sms_jobs.privacy_requests() == {"copies": 0, "erased": 0, "withdrawn": 0}
    morning = core_runtime.worker_runtime()
    morning.clock = lambda: rt.clock()  # Sunday 09:30 Cairo: before the cut-off
    assert sms_jobs.digests_if_due() == "not due"
    morning.clock = lambda: rt.clock() + timedelta(hours=7)  # 16:30 Cairo: after it
    assert sms_jobs.digests_if_due().startswith("enqueued")
    assert sms_jobs.digests_if_due() == "already enqueued today"
