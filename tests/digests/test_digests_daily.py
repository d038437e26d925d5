"""`hudoor digests daily` and `hudoor dlq`: from attendance rows to one message per guardian."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from sqlalchemy import select

import gateway.cli
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    Contact,
    Enrolment,
    Person,
    School,
    SchoolClass,
)
from core import calendar_store
from digests.daily import enqueue_daily, send_time
from digests.models import OutboxMessage
from tests.support.consent import consent_all

SUNDAY = date(2026, 11, 29)
PARENT = "+201001234567"


def family(runtime) -> None:  # type: ignore[no-untyped-def]
    """A parent of three children in two classes, and one opted-out parent."""
    with runtime.sessions() as s, s.begin():
        school = School(upstream_id="SCH-1", name="مدرسة", governorate="القاهرة")
        s.add(school)
        s.flush()
        classes = [SchoolClass(upstream_id=f"C{i}", school_id=school.id, name=f"{i}", grade=i)
                   for i in (1, 2)]
        s.add_all(classes)
        names = ["عبد الرحمن محمد", "منة الله محمد", "مريم محمد", "سيف علي"]
        kids = [Person(upstream_id=f"S{i}", school_id=school.id, role="student",
                       display_name=n, name_key=n) for i, n in enumerate(names)]
        teacher = Person(upstream_id="T1", school_id=school.id, role="teacher",
                         display_name="معلم", name_key="معلم")
        s.add_all(kids + [teacher])
        s.flush()
        for i, kid in enumerate(kids):
            s.add(Enrolment(person_id=kid.id, class_id=classes[min(i, 1)].id))
            s.add(Contact(person_id=kid.id, msisdn=PARENT if i < 3 else "+201201234567",
                          kind="guardian", language="ar",
                          opted_out_at=datetime.now(timezone.utc) if i == 3 else None))
        consent_all(s)
        records = [AttendanceRecord(class_id=c.id, day=SUNDAY, taken_by=teacher.id,
                                    class_size=3, session_id="x", msisdn="+201000000000",
                                    confirmed_at=datetime(2026, 11, 29, 6, 0, tzinfo=timezone.utc))
                   for c in classes]
        s.add_all(records)
        s.flush()
        s.add(AttendanceMark(record_id=records[0].id, person_id=kids[0].id, status="absent",
                             session_id="x", marked_by=teacher.id))
        s.add(AttendanceMark(record_id=records[1].id, person_id=kids[1].id, status="late",
                             session_id="x", marked_by=teacher.id))


def test_a_guardian_of_three_children_gets_one_message(runtime) -> None:  # type: ignore[no-untyped-def]
    family(runtime)
    now = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
    for _ in range(2):  # a second run adds nothing
        with runtime.sessions() as s, s.begin():
            run = enqueue_daily(s, SUNDAY, runtime.config, actor="test", now=now)
    assert (run.guardians, run.drafts, run.enqueued) == (1, 1, 0)
    with runtime.sessions() as s:
        [row] = s.scalars(select(OutboxMessage)).all()
    assert row.msisdn == PARENT
    assert row.text == "حضور ٢٩/١١: عبد الرحمن غياب، منة الله تأخير، مريم حضور"
    assert row.segments == 1
    # Composed before the cut-off: held until 15:30 Cairo.
    with runtime.sessions() as s:
        cal = calendar_store.load(s, runtime.config)
    assert row.next_attempt_at == send_time(SUNDAY, cal, now)
    assert row.next_attempt_at.hour == 13


def test_nothing_on_a_friday(runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.sessions() as s, s.begin():
        run = enqueue_daily(s, date(2026, 11, 27), runtime.config, actor="test")
    assert run.skipped_reason == "not a school day"


def test_cli_daily_then_dlq_list_and_replay(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    family(runtime)
    result = runner.invoke(gateway.cli.cli, ["digests", "daily", "--day", "2026-11-29"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["drafts"] == 1
    with runtime.sessions() as s, s.begin():
        row = s.scalars(select(OutboxMessage)).one()
        row.state, row.failure_reason = "dead_lettered", "406 UserInBlacklist"
    listed = runner.invoke(gateway.cli.cli, ["dlq", "list"])
    assert json.loads(listed.output)["reason"] == "406 UserInBlacklist"
    replayed = runner.invoke(gateway.cli.cli, ["dlq", "replay", str(row.id), "--by", "desk:7",
                                               "--reason", "number unblocked"])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.output) == {"replayed": [row.id]}
    with runtime.sessions() as s:
        assert s.get(OutboxMessage, row.id).state == "queued"  # type: ignore[union-attr]
