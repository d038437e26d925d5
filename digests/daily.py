"""Read one school day's final attendance and put its daily digests in the outbox."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import audit, calendar_store, consent
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
from digests.compose import compose
from digests.compose_types import Child, ChildStatus, GuardianDay
from digests.models import DigestRun
from digests.outbox import Draft

BATCH = 5000  # guardians composed and put in the outbox at a time (bounds memory)
_MARK = {2: ChildStatus.LATE, 1: ChildStatus.ABSENT}  # late beats absent: max() of the codes


@dataclass(frozen=True)
class DailyRun:
    """What `enqueue_daily` did."""

    day: date
    guardians: int
    drafts: int
    enqueued: int
    skipped_reason: str = ""


def cutoff_at(day: date, cal: SchoolCalendar, schools: Iterable[int] = ()) -> datetime:
    """Return the day's latest cut-off among `schools` (the national one when none), Cairo.

    Classes confirmed before it count in the digest; later ones go as absence alerts.
    """
    return max([cal.cutoff_at(day, s) for s in schools] or [cal.cutoff_at(day)])


def send_time(day: date, cal: SchoolCalendar, now: datetime,
              schools: set[int] | frozenset[int] = frozenset()) -> datetime:
    """Return when the day's digests may go: after the schools' digest time, outside quiet hours."""
    moments = [cal.digest_at(day, s) for s in schools] or [cal.digest_at(day)]
    return cal.quiet_hours_end(max([now, *moments]))


def mark_code() -> Any:
    """Return a SQL expression ranking a mark: late 2, absent 1 (max() gives the final one)."""
    return case((AttendanceMark.status == "late", 2), (AttendanceMark.status == "absent", 1),
                else_=0)


def _guardian_rows(day: date, before: datetime) -> Select[Any]:
    """Select every guardian link with its child's name and final status, in one statement.

    Set-based: the database joins contacts to the day's records and marks, so no
    list of ids travels to it (PostgreSQL allows 65,535 parameters a statement).
    Only classes confirmed before the cut-off count; later ones are absence alerts.
    Ordered by MSISDN so guardians can be composed as the rows stream in.
    """
    confirmed = (AttendanceRecord.day == day) & (AttendanceRecord.confirmed_at < before)
    recorded = (select(Enrolment.person_id.label("pid"))
                .join(AttendanceRecord, AttendanceRecord.class_id == Enrolment.class_id)
                .where(Enrolment.ended_at.is_(None), confirmed)
                .group_by(Enrolment.person_id).subquery())
    marks = (select(AttendanceMark.person_id.label("pid"), func.max(mark_code()).label("mark"))
             .join(AttendanceRecord, AttendanceMark.record_id == AttendanceRecord.id)
             .where(confirmed).group_by(AttendanceMark.person_id).subquery())
    return (select(Contact.msisdn, Contact.language, Contact.person_id, Person.display_name,
                   Person.school_id, recorded.c.pid.is_not(None), marks.c.mark)
            .outerjoin(Person, and_(Person.id == Contact.person_id, Person.active.is_(True)))
            .outerjoin(recorded, recorded.c.pid == Contact.person_id)
            .outerjoin(marks, marks.c.pid == Contact.person_id)
            .where(Contact.kind == ContactKind.GUARDIAN.value, Contact.opted_out_at.is_(None),
                   Contact.revoked_at.is_(None), consent.live())
            .order_by(Contact.msisdn, Contact.consented_at, Contact.id))


def _status(recorded: bool, mark: int | None) -> ChildStatus:
    found = _MARK.get(mark or 0)
    if found is not None:
        return found
    return ChildStatus.PRESENT if recorded else ChildStatus.UNRECORDED


def guardian_days(day: date, rows: Iterable[Sequence[Any]],
                  closed: frozenset[int] = frozenset()) -> Iterator[tuple[GuardianDay, set[int]]]:
    """Group rows (ordered by MSISDN) into one GuardianDay per MSISDN, with its schools.

    A parent of three children has three links with one MSISDN: one message. The
    language of the newest link wins. A child whose school is closed today (its own
    week, a governorate exception) has nothing to report: never a false absence.
    """
    for msisdn, links in groupby(rows, key=lambda r: r[0]):
        language, kids, schools = "ar", {}, set()
        for _msisdn, language, person_id, name, school_id, recorded, mark in links:
            if name is None:
                continue
            if school_id in closed:
                kids[person_id] = Child(person_id, name, ChildStatus.UNRECORDED)
                continue
            kids[person_id] = Child(person_id, name, _status(bool(recorded), mark))
            if school_id is not None:
                schools.add(school_id)
        yield GuardianDay(msisdn, language, day, tuple(kids.values())), schools


def enqueue_daily(session: Session, day: date, config: Config, *, actor: str,
                  now: datetime | None = None, cal: SchoolCalendar | None = None) -> DailyRun:
    """Compose and enqueue every guardian's digest for day; safe to run again (idempotent).

    Everything, and the `digest_runs` row saying the day is done, is written in the
    caller's transaction: a run that dies part-way leaves nothing, and runs again.
    """
    now = now or utcnow()
    cal = cal or calendar_store.current(session, config)
    if not cal.any_school_day(day):
        return DailyRun(day, 0, 0, 0, "not a school day")
    open_schools = cal.open_schools(day)
    closed = frozenset(cal.schools) - open_schools
    rows = session.execute(_guardian_rows(day, cutoff_at(day, cal, open_schools))
                           .execution_options(yield_per=BATCH))
    guardians = drafts = enqueued = 0
    pending: list[Draft] = []
    for guardian, schools in guardian_days(day, rows, closed):
        guardians += 1
        draft = compose(guardian, school_day=True)
        if draft is not None:
            pending.append(Draft(draft.kind, draft.day, draft.msisdn, draft.language, draft.text,
                                 draft.priority, send_time(day, cal, now, schools)))
        if len(pending) >= BATCH:
            drafts += len(pending)
            enqueued += outbox.enqueue(session, pending, now)
            pending = []
    drafts += len(pending)
    enqueued += outbox.enqueue(session, pending, now)
    _mark_done(session, day, guardians, drafts, actor, now)
    audit.record(session, actor=actor, action="digests.enqueue", entity="sms_outbox",
                 entity_id=f"daily:{day.isoformat()}", reason="daily attendance digest",
                 data={"guardians": guardians, "drafts": drafts})
    return DailyRun(day, guardians, drafts, enqueued)


def _mark_done(session: Session, day: date, guardians: int, drafts: int, actor: str,
               now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {"finished_at": now, "guardians": guardians, "drafts": drafts, "actor": actor[:100]}
    session.execute(insert(DigestRun).values(day=day, **values)
                    .on_conflict_do_update(index_elements=["day"], set_=values))


def finished(session: Session, day: date) -> bool:
    """Tell whether the day's digests are all in the outbox (a run committed)."""
    return session.scalar(select(DigestRun.id).where(DigestRun.day == day)) is not None
