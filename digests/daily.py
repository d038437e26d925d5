"""Read one school day's final attendance and put its daily digests in the outbox."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, calendar
from core.config import Config
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
from digests.compose_types import Child
from digests.outbox import Draft, RetryPolicy


@dataclass(frozen=True)
class DailyRun:
    """What `enqueue_daily` did."""

    day: date
    guardians: int
    drafts: int
    enqueued: int
    skipped_reason: str = ""


def send_time(day: date, config: Config, now: datetime) -> datetime:
    """Return when the day's digests may go: after the cut-off, outside quiet hours."""
    cutoff = datetime.combine(day, config.digest_cutoff_time, tzinfo=calendar.CAIRO)
    policy = RetryPolicy.from_config(config)
    return policy.not_quiet(max(now, cutoff))


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
    if not calendar.is_school_day(day):
        return DailyRun(day, 0, 0, 0, "not a school day")
    links = session.execute(select(Contact.msisdn, Contact.language, Contact.person_id).where(
        Contact.kind == ContactKind.GUARDIAN.value, Contact.opted_out_at.is_(None),
        Contact.revoked_at.is_(None)).order_by(Contact.consented_at, Contact.id)).all()
    children = load_children(session, day, {pid for _, _, pid in links})
    guardians = list(group_guardians(day, [tuple(link) for link in links], children))
    not_before = send_time(day, config, now)
    drafts: list[Draft] = []
    for guardian in guardians:
        draft = compose(guardian)
        if draft is not None:
            drafts.append(Draft(draft.kind, draft.day, draft.msisdn, draft.language, draft.text,
                                draft.priority, not_before))
    enqueued = outbox.enqueue(session, drafts, now)
    audit.record(session, actor=actor, action="digests.enqueue", entity="sms_outbox",
                 entity_id=f"daily:{day.isoformat()}", reason="daily attendance digest",
                 data={"guardians": len(guardians), "drafts": len(drafts)})
    return DailyRun(day, len(guardians), len(drafts), enqueued)
