"""Absence alerts: a class confirmed after the day's cut-off still reaches its parents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, func, literal, select
from sqlalchemy.orm import Session

from core import audit, calendar_store, consent
from core.config import Config
from core.models import AttendanceMark, AttendanceRecord, Contact, ContactKind, Person
from digests import outbox
from digests.compose import compose
from digests.daily import cutoff_at, guardian_days, mark_code
from digests.models import MessageKind
from digests.outbox import Draft
from shaping.policy import Priority

ALERT = MessageKind.ABSENCE_ALERT.value


def enqueue_late_alerts(session: Session, day: date, config: Config, now: datetime) -> int:
    """Alert guardians of children absent or late in classes confirmed after the cut-off.

    The daily digest reads only classes confirmed before the cut-off, so the two never
    tell a parent the same thing; an alert is urgent and waits out the quiet hours. One
    alert per guardian MSISDN a day (its outbox key): safe to call as often as wanted.
    Returns how many alerts were added.
    """
    cal = calendar_store.current(session, config)
    if not cal.any_school_day(day):
        return 0
    cutoff = cutoff_at(day, cal, cal.open_schools(day))
    late = (AttendanceRecord.day == day) & (AttendanceRecord.confirmed_at >= cutoff)
    marks = (select(AttendanceMark.person_id.label("pid"), func.max(mark_code()).label("mark"))
             .join(AttendanceRecord, AttendanceMark.record_id == AttendanceRecord.id)
             .where(late).group_by(AttendanceMark.person_id)
             .having(func.max(mark_code()) > 0).subquery())
    rows = session.execute(
        select(Contact.msisdn, Contact.language, Contact.person_id, Person.display_name,
               Person.school_id, literal(True), marks.c.mark)
        .join(marks, marks.c.pid == Contact.person_id)
        .join(Person, and_(Person.id == Contact.person_id, Person.active.is_(True)))
        .where(Contact.kind == ContactKind.GUARDIAN.value, Contact.opted_out_at.is_(None),
               Contact.revoked_at.is_(None), consent.live())
        .order_by(Contact.msisdn, Contact.consented_at, Contact.id)).all()
    not_before = cal.quiet_hours_end(now)
    composed = (compose(guardian, school_day=True) for guardian, _schools in guardian_days(day, rows))
    drafts = [Draft(ALERT, d.day, d.msisdn, d.language, d.text, Priority.URGENT, not_before)
              for d in composed if d is not None]
    added = outbox.enqueue(session, drafts, now)
    if added:
        audit.record(session, actor="scheduler", action="digests.absence_alerts",
                     entity="sms_outbox", entity_id=f"alert:{day.isoformat()}",
                     reason="attendance confirmed after the digest cut-off",
                     data={"alerts": added})
    return added
