"""Read one school day's final attendance and put its daily digests in the outbox."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, calendar_store
from core.config import Config
from core.school_calendar import SchoolCalendar
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    Contact,
    ContactKind,
    Enrolment,
    Person,
    utcnow,
)
from digests import outbox
from digests.compose import compose, final_status, group_guardians
from digests.compose_types import Child, ChildStatus
from digests.outbox import Draft


@dataclass(frozen=True)
class DailyRun:
    """What `enqueue_daily` did."""

    day: date
    guardians: int
    drafts: int
    enqueued: int
    skipped_reason: str = ""


def send_time(day: date, cal: SchoolCalendar, now: datetime,
              schools: set[int] | frozenset[int] = frozenset()) -> datetime:
    """Return when the day's digests may go: after the schools' digest time, outside quiet hours."""
    moments = [cal.digest_at(day, s) for s in schools] or [cal.digest_at(day)]
    return cal.quiet_hours_end(max([now, *moments]))


def load_children(session: Session, day: date, person_ids: set[int]) -> dict[int, Child]:
    """Return each student's final status on day (late beats absent; no record: unrecorded)."""
    if not person_ids:
        return {}
    people = dict(session.execute(select(Person.id, Person.display_name)
                                  .where(Person.id.in_(person_ids), Person.active)).all())
    classes = dict(session.execute(select(Enrolment.person_id, Enrolment.class_id).where(
        Enrolment.person_id.in_(person_ids), Enrolment.ended_at.is_(None))).all())
    recorded = set(session.scalars(select(AttendanceRecord.class_id)
                                   .where(AttendanceRecord.day == day)))
    marks: dict[int, list[str]] = defaultdict(list)
    for person_id, status in session.execute(
            select(AttendanceMark.person_id, AttendanceMark.status)
            .join(AttendanceRecord, AttendanceMark.record_id == AttendanceRecord.id)
            .where(AttendanceRecord.day == day, AttendanceMark.person_id.in_(person_ids))):
        marks[person_id].append(status)
    return {pid: Child(pid, name, final_status(marks.get(pid, ()), classes.get(pid) in recorded))
            for pid, name in people.items()}


def enqueue_daily(session: Session, day: date, config: Config, *, actor: str,
                  now: datetime | None = None) -> DailyRun:
    """Compose and enqueue every guardian's digest for day; safe to run again (idempotent)."""
    now = now or utcnow()
    cal = calendar_store.current(session, config)
    if not cal.any_school_day(day):
        return DailyRun(day, 0, 0, 0, "not a school day")
    links = session.execute(select(Contact.msisdn, Contact.language, Contact.person_id).where(
        Contact.kind == ContactKind.GUARDIAN.value, Contact.opted_out_at.is_(None),
        Contact.revoked_at.is_(None)).order_by(Contact.consented_at, Contact.id)).all()
    pids = {pid for _, _, pid in links}
    school_of: dict[int, int] = dict(session.execute(select(Person.id, Person.school_id)
                                     .where(Person.id.in_(pids))).all()) if pids else {}
    children = load_children(session, day, pids)
    # A child whose school is closed today (governorate exception, its own week) has no
    # attendance to report: never a false absence.
    open_today = {sid: cal.is_school_day(day, sid) for sid in set(school_of.values())}
    national = cal.is_school_day(day)
    children = {pid: (c if open_today.get(school_of.get(pid, -1), national)
                      else Child(c.person_id, c.display_name, ChildStatus.UNRECORDED))
                for pid, c in children.items()}
    guardians = list(group_guardians(day, [tuple(link) for link in links], children))
    drafts: list[Draft] = []
    for guardian in guardians:
        draft = compose(guardian, school_day=True)
        if draft is not None:
            schools = {school_of[c.person_id] for c in guardian.children if c.person_id in school_of}
            drafts.append(Draft(draft.kind, draft.day, draft.msisdn, draft.language, draft.text,
                                draft.priority, send_time(day, cal, now, schools)))
    enqueued = outbox.enqueue(session, drafts, now)
    audit.record(session, actor=actor, action="digests.enqueue", entity="sms_outbox",
                 entity_id=f"daily:{day.isoformat()}", reason="daily attendance digest",
                 data={"guardians": len(guardians), "drafts": len(drafts)})
    return DailyRun(day, len(guardians), len(drafts), enqueued)
