"""A class confirmed over USSD after the digest cut-off still reaches its parents (urgent)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq import Queue, SimpleWorker
from sqlalchemy import select

from core import calendar
from core import runtime as core_runtime
from core.models import AttendanceMark, Contact, Enrolment
from core.runtime import Runtime
from digests import jobs as sms_jobs
from digests.models import OutboxMessage
from shaping.policy import Priority
from tests.ussd.phone import Phone
from tests.ussd.test_ussd_http import _activate, _teacher, _to_absent_entry
from tests.support.consent import consent_all

AFTER_CUTOFF = datetime(2026, 11, 29, 14, 30, tzinfo=timezone.utc)  # Sunday 16:30 Cairo


def test_absences_confirmed_after_the_cut_off_go_as_urgent_alerts_after_quiet_hours(  # type: ignore[no-untyped-def]
        synced, sandbox, client, runner, monkeypatch) -> None:
    synced.clock = lambda: AFTER_CUTOFF  # the teacher confirms at 16:30, after the 15:30 cut-off
    phone = Phone(client)
    _activate(runner, phone, _teacher(sandbox))
    _to_absent_entry(phone)
    phone.send("0103")  # rolls 1 and 3 absent
    assert phone.send("1").startswith("END Saved")
    with synced.sessions() as s, s.begin():
        absent = set(s.scalars(select(AttendanceMark.person_id)))
        class_id = s.scalars(select(Enrolment.class_id).where(
            Enrolment.person_id.in_(absent))).first()
        classmates = s.scalars(select(Enrolment.person_id).where(
            Enrolment.class_id == class_id, Enrolment.ended_at.is_(None))).all()
        for i, pid in enumerate(sorted(classmates)):  # every child of the class has a guardian
            s.add(Contact(person_id=pid, msisdn=f"+2010{i:08d}", kind="guardian"))
        consent_all(s)
        alerted = {f"+2010{i:08d}" for i, pid in enumerate(sorted(classmates)) if pid in absent}
    # The scheduled check, in a real worker, with quiet hours from 16:00 to 07:00.
    rt = Runtime(synced.config.with_overrides(sms_provider="console", quiet_start_hour=16,
                                              quiet_end_hour=7), clock=lambda: AFTER_CUTOFF)
    monkeypatch.setattr(core_runtime, "_worker_runtime", rt)
    for _ in range(2):  # every tick: nobody is alerted twice
        Queue("digests", connection=rt.redis).enqueue(sms_jobs.digests_if_due)
        SimpleWorker([Queue("digests", connection=rt.redis)], connection=rt.redis).work(burst=True)
    rt.close()
    with synced.sessions() as s:
        rows = s.scalars(select(OutboxMessage)).all()
    # Only the absent children's guardians hear of it, by an urgent alert; the class came in
    # after the cut-off, so the day's digest says nothing of it (no duplicate, no "present").
    assert {r.msisdn for r in rows} == alerted and len(rows) == 2
    assert {(r.kind, r.priority) for r in rows} == {("absence_alert", int(Priority.URGENT))}
    assert all("غياب" in r.text for r in rows)
    morning = calendar.to_cairo(AFTER_CUTOFF + timedelta(days=1)).replace(hour=7, minute=0)
    assert {r.next_attempt_at for r in rows} == {morning}  # held until the quiet hours end
