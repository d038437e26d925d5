"""The retention schedule, enforced by `hudoor retention run` and the nightly job, on a moved clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from core.models import (
    AttendanceRecord,
    AuditEntry,
    ConsentRecord,
    Contact,
    Person,
    PrivacyRequest,
    School,
    SchoolClass,
)
from core.pseudonyms import msisdn_ref
from digests.models import DeliveryReport, InboundMessage, OutboxMessage
from gateway import schedule
from gateway.cli import cli
from tests.support.consent import consent_all

T0 = datetime(2026, 1, 4, 8, 0, tzinfo=timezone.utc)
OLD = "+201001234567"


def _seed(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s, s.begin():
        school = School(upstream_id="S", name="م", governorate="ج")
        s.add(school)
        s.flush()
        cls = SchoolClass(upstream_id="C", school_id=school.id, name="1", grade=1)
        kid = Person(upstream_id="K", school_id=school.id, role="student", display_name="مريم",
                     name_key="مريم")
        s.add_all([cls, kid])
        s.flush()
        s.add(Contact(person_id=kid.id, msisdn=OLD, kind="guardian", revoked_at=T0))
        consent_all(s)
        s.add(AttendanceRecord(class_id=cls.id, day=date(2026, 1, 4), taken_by=kid.id,
                               class_size=1, session_id="x", msisdn="ref", confirmed_at=T0))
        s.add(InboundMessage(provider_message_id="in-1", msisdn="…567", keyword="stop",
                             received_at=T0))
        row = OutboxMessage(idempotency_key=f"daily_digest:2026-01-04:{OLD}", kind="daily_digest",
                            day=date(2026, 1, 4), msisdn=OLD, language="ar", text="حضور", segments=1,
                            encoding="UCS-2", operator="vodafone", priority=1, state="delivered",
                            created_at=T0)
        s.add(row)
        s.flush()
        s.add(DeliveryReport(dedup_key="k", provider_message_id="AT-1", status="Success",
                             phone_ref="0123456789abcdef", applied="moved", outbox_id=row.id,
                             received_at=T0))
        s.add(PrivacyRequest(kind="access", channel="sms", subject_ref="r", status="answered",
                             received_at=T0, due_at=T0, answered_at=T0, note=""))


def _count(runtime, model) -> int:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _run(runtime, runner, at: datetime, *args: str):  # type: ignore[no-untyped-def]
    runtime.clock = lambda: at
    result = runner.invoke(cli, ["retention", "run", *args])
    assert result.exit_code == 0, result.output
    return result


def test_each_rule_runs_at_its_time_and_a_dry_run_changes_nothing(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    _seed(runtime)
    dry = _run(runtime, runner, T0 + timedelta(days=400), "--dry-run")
    assert "sms_inbound\tdelete\t1" in dry.stdout and "would change 4 rows" in dry.stdout
    assert "[1/8] sms_inbound" in dry.stderr  # progress, one line per rule
    assert _count(runtime, InboundMessage) == 1 and _count(runtime, AuditEntry) == 0

    week = _run(runtime, runner, T0 + timedelta(days=8))
    assert "sms_inbound\tdelete\t1" in week.stdout and "sms_delivery_reports\tdelete\t0" in week.stdout
    assert (_count(runtime, InboundMessage), _count(runtime, DeliveryReport)) == (0, 1)

    _run(runtime, runner, T0 + timedelta(days=200))
    assert (_count(runtime, DeliveryReport), _count(runtime, OutboxMessage)) == (0, 0)
    with runtime.sessions() as s:
        assert s.scalars(select(Contact.msisdn)).one() == OLD  # revoked, not a year yet

    last = _run(runtime, runner, T0 + timedelta(days=3 * 365 + 2))
    assert "changed 2 rows" in last.stdout  # the tombstoned link, the old request
    with runtime.sessions() as s:
        tomb = "#" + msisdn_ref(runtime.config.secret_key, OLD)
        assert s.scalars(select(Contact.msisdn)).one() == tomb
        actions = list(s.scalars(select(AuditEntry.action)))
    assert _count(runtime, PrivacyRequest) == 0
    # Kept for good: attendance (the school's record), the consent register, the audit log.
    assert _count(runtime, AttendanceRecord) == 1 and _count(runtime, ConsentRecord) == 1
    assert actions == ["retention.run"] * 3  # one per real run, counts only


def test_the_scheduler_runs_the_purge_nightly_and_answers_requests_every_minute() -> None:
    from rq.cron import CronScheduler

    from core.config import Config

    cron = CronScheduler(connection=None)  # type: ignore[arg-type]
    schedule.register(cron, Config())
    jobs = {j.name: j for j in cron.get_jobs()}
    assert jobs["retention_purge"].cron == "45 1 * * *"
    assert jobs["privacy_requests"].interval == 60
