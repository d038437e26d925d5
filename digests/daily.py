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
from digests.compose import compose
from digests.compose_types import Child, ChildStatus, GuardianDay
from digests.models import DigestRun
from digests.outbox import Draft, RetryPolicy

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


def cutoff_at(day: date, config: Config) -> datetime:
    """Return the day's digest cut-off as an aware datetime (Cairo)."""
    return datetime.combine(day, config.digest_cutoff_time, tzinfo=calendar.CAIRO)


def send_time(day: date, config: Config, now: datetime) -> datetime:
    """Return when the day's digests may go: after the cut-off, outside quiet hours."""
    policy = RetryPolicy.from_config(config)
    return policy.not_quiet(max(now, cutoff_at(day, config)))


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
                   recorded.c.pid.is_not(None), marks.c.mark)
            .outerjoin(Person, and_(Person.id == Contact.person_id, Person.active.is_(True)))
            .outerjoin(recorded, recorded.c.pid == Contact.person_id)
            .outerjoin(marks, marks.c.pid == Contact.person_id)
            .where(Contact.kind == ContactKind.GUARDIAN.value, Contact.opted_out_at.is_(None),
                   Contact.revoked_at.is_(None))
            .order_by(Contact.msisdn, Contact.consented_at, Contact.id))


def _status(recorded: bool, mark: int | None) -> ChildStatus:
    found = _MARK.get(mark or 0)
    if found is not None:
        return found
    return ChildStatus.PRESENT if recorded else ChildStatus.UNRECORDED


def guardian_days(day: date, rows: Iterable[Sequence[Any]]) -> Iterator[GuardianDay]:
    """Group rows (ordered by MSISDN) into one GuardianDay per MSISDN.

    A parent of three children has three links with one MSISDN: one message. The
    language of the newest link wins.
    """
    for msisdn, links in groupby(rows, key=lambda r: r[0]):
        language, kids = "ar", {}
        for _msisdn, language, person_id, name, recorded, mark in links:
            if name is not None:
                kids[person_id] = Child(person_id, name, _status(bool(recorded), mark))
        yield GuardianDay(msisdn, language, day, tuple(kids.values()))


def enqueue_daily(session: Session, day: date, config: Config, *, actor: str,
                  now: datetime | None = None) -> DailyRun:
    """Compose and enqueue every guardian's digest for day; safe to run again (idempotent).

    Everything, and the `digest_runs` row saying the day is done, is written in the
    caller's transaction: a run that dies part-way leaves nothing, and runs again.
    """
    now = now or utcnow()
    if not calendar.is_school_day(day):
        return DailyRun(day, 0, 0, 0, "not a school day")
    not_before = send_time(day, config, now)
    rows = session.execute(_guardian_rows(day, cutoff_at(day, config))
                           .execution_options(yield_per=BATCH))
    guardians = drafts = enqueued = 0
    pending: list[Draft] = []
    for guardian in guardian_days(day, rows):
        guardians += 1
        draft = compose(guardian)
        if draft is not None:
            pending.append(Draft(draft.kind, draft.day, draft.msisdn, draft.language, draft.text,
                                 draft.priority, not_before))
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
