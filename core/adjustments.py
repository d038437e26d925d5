"""Retroactive attendance adjustments: reason, an approver who is not the requester, a lock (U3).

An adjustment never overwrites the original mark: it is a row of its own (from, to,
reason, who asked, who decided, when), and the effective status of a student-day is its
newest approved adjustment (core/writeback/snapshot.py). Approval bumps the class-day's
revision, so write-back sends the corrected class-day (C2). A school-day can be adjusted
for 3 working days; after that only a central exception with a reference can change it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, calendar, calendar_store
from core.config import Config
from core.models import (
    AdjustmentState,
    AttendanceAdjustment,
    AttendanceMark,
    AttendanceRecord,
    Enrolment,
    Person,
    Role,
    SchoolClass,
)

WINDOW_WORKING_DAYS = 3
STATUSES = ("present", "absent", "late")


class Reason(str, enum.Enum):
    """The fixed list of reasons; the number is what a teacher types over USSD."""

    DATA_ENTRY = "data_entry_error"
    LATE_ARRIVAL = "late_arrival"
    OFFICIAL_EXCUSE = "official_excuse"
    MEDICAL = "medical"
    SYSTEM_FAULT = "system_fault"


REASON_BY_DIGIT = {str(i): r for i, r in enumerate(Reason, start=1)}


class AdjustmentError(Exception):
    """An adjustment that cannot be made; the message says why."""


class Locked(AdjustmentError):
    """The school-day is past its window: only a central exception can change it."""


class NotAllowed(AdjustmentError):
    """This person may not request or decide this adjustment."""


class NothingToChange(AdjustmentError):
    """The student-day already has that status, or was not taken."""


class AlreadyPending(AdjustmentError):
    """A request for this student-day is already waiting for a decision."""


def lock_day(session: Session, config: Config, day: date, school_id: int | None) -> date:
    """Return the last day on which an adjustment of `day` may be decided at `school_id`.

    Working days are the school's own, from the calendar tables: a feast, or a closure of
    its governorate, inside the window moves the lock on; a make-up day brings it nearer.
    """
    cal = calendar_store.current(session, config)
    return cal.working_days_after(day, WINDOW_WORKING_DAYS, school_id)


def is_locked(session: Session, config: Config, day: date, school_id: int | None,
              now: datetime) -> bool:
    """Tell whether `day` is locked at `now` for `school_id` (Cairo date past its window)."""
    return calendar.to_cairo(now).date() > lock_day(session, config, day, school_id)


LOOK_BACK_DAYS = 31  # no window of 3 working days reaches further back, even across a feast


def correctable_days(session: Session, config: Config, school_id: int | None,
                     now: datetime) -> list[date]:
    """Return today and the earlier school days a teacher may still correct, newest first."""
    cal = calendar_store.current(session, config)
    today = calendar.to_cairo(now).date()
    days = []
    for back in range(LOOK_BACK_DAYS):
        day = today - timedelta(days=back)
        if not cal.is_school_day(day, school_id):
            continue
        if cal.working_days_after(day, WINDOW_WORKING_DAYS, school_id) < today:
            break
        days.append(day)
    return days


def _school_of(session: Session, person_id: int) -> int | None:
    person = session.get(Person, person_id)
    return person.school_id if person is not None else None


@dataclass(frozen=True)
class StudentDay:
    school_id: int
    class_id: int
    record_id: int
    status: str  # effective: newest approved adjustment, else the mark, else present


def student_day(session: Session, person_id: int, day: date) -> StudentDay:
    """Return where a student-day is recorded and its effective status.

    Raises:
        NothingToChange: the student's class was not taken that day.
    """
    row = session.execute(
        select(AttendanceRecord.id, AttendanceRecord.class_id, AttendanceMark.status)
        .join(AttendanceMark, AttendanceMark.record_id == AttendanceRecord.id)
        .where(AttendanceMark.person_id == person_id, AttendanceRecord.day == day)).first()
    if row is None:
        row = session.execute(
            select(AttendanceRecord.id, AttendanceRecord.class_id)
            .join(Enrolment, Enrolment.class_id == AttendanceRecord.class_id)
            .where(Enrolment.person_id == person_id, Enrolment.ended_at.is_(None),
                   AttendanceRecord.day == day)).first()
        if row is None:
            raise NothingToChange(f"no attendance of student {person_id}'s class on {day}")
        row = (row[0], row[1], "present")
    latest = session.scalar(
        select(AttendanceAdjustment.to_status)
        .where(AttendanceAdjustment.person_id == person_id, AttendanceAdjustment.day == day,
               AttendanceAdjustment.state == AdjustmentState.APPROVED.value)
        .order_by(AttendanceAdjustment.decided_at.desc(), AttendanceAdjustment.id.desc()).limit(1))
    school = session.scalar(select(SchoolClass.school_id).where(SchoolClass.id == row[1]))
    return StudentDay(int(school), row[1], row[0], latest or row[2])


def request(session: Session, config: Config, *, person_id: int, day: date, to_status: str,
            reason: Reason, requested_by: str, now: datetime) -> AttendanceAdjustment:
    """Ask for a student-day's status to change (audited); a principal or champion decides.

    Raises:
        Locked, NothingToChange, AlreadyPending.
    """
    if to_status not in STATUSES:
        raise NothingToChange(f"status must be one of {', '.join(STATUSES)}")
    school = _school_of(session, person_id)
    if is_locked(session, config, day, school, now):
        raise Locked(f"{day} locked on {lock_day(session, config, day, school)}: "
                     "only a central exception can change it")
    where = student_day(session, person_id, day)
    if where.status == to_status:
        raise NothingToChange(f"student {person_id} is already {to_status} on {day}")
    pending = session.scalar(select(AttendanceAdjustment.id).where(
        AttendanceAdjustment.person_id == person_id, AttendanceAdjustment.day == day,
        AttendanceAdjustment.state == AdjustmentState.PENDING.value))
    if pending is not None:
        raise AlreadyPending(f"adjustment {pending} for this student-day awaits a decision")
    adj = AttendanceAdjustment(
        school_id=where.school_id, class_id=where.class_id, day=day, person_id=person_id,
        from_status=where.status, to_status=to_status, reason_code=reason.value,
        requested_by=requested_by[:100], requested_at=now, state=AdjustmentState.PENDING.value)
    session.add(adj)
    session.flush()
    audit.record(session, actor=requested_by, action="adjustment.request", entity="adjustment",
                 entity_id=adj.id, reason=reason.value,
                 data={"person": person_id, "day": day.isoformat(), "from": where.status,
                       "to": to_status})
    return adj


def _apply(session: Session, adj: AttendanceAdjustment) -> None:
    """Make an approved adjustment a new revision of its class-day (write-back sends it)."""
    session.execute(update(AttendanceRecord)
                    .where(AttendanceRecord.class_id == adj.class_id, AttendanceRecord.day == adj.day)
                    .values(revision=AttendanceRecord.revision + 1))


def decide(session: Session, config: Config, adjustment_id: int, *, approver_id: int,
           approve: bool, now: datetime) -> AttendanceAdjustment:
    """Approve or reject a pending adjustment, as a principal or champion of its school.

    Raises:
        NotAllowed: not a principal/champion of that school, or the requester themself.
        Locked: the window has passed (the request expires, audited).
    """
    adj = session.get(AttendanceAdjustment, adjustment_id)
    if adj is None or adj.state != AdjustmentState.PENDING.value:
        raise NothingToChange(f"no pending adjustment {adjustment_id}")
    approver = session.get(Person, approver_id)
    actor = f"staff:{approver_id}"
    if (approver is None or not approver.active
            or approver.role not in (Role.PRINCIPAL.value, Role.CHAMPION.value)
            or approver.school_id != adj.school_id):
        raise NotAllowed("only a principal or champion of the student's school may decide")
    if adj.requested_by == actor:
        raise NotAllowed("the requester may not approve their own adjustment")
    if is_locked(session, config, adj.day, adj.school_id, now):
        locked_on = lock_day(session, config, adj.day, adj.school_id)
        adj.state, adj.decided_at, adj.decided_by = AdjustmentState.EXPIRED.value, now, "window"
        audit.record(session, actor="adjustments", action="adjustment.expire", entity="adjustment",
                     entity_id=adj.id, reason=f"not decided by {locked_on}", data={})
        raise Locked(f"{adj.day} locked on {locked_on}: the request expired")
    adj.state = (AdjustmentState.APPROVED if approve else AdjustmentState.REJECTED).value
    adj.decided_by, adj.decided_at = actor, now
    if approve:
        _apply(session, adj)
    audit.record(session, actor=actor, action="adjustment.decide", entity="adjustment",
                 entity_id=adj.id, reason=adj.state,
                 data={"person": adj.person_id, "day": adj.day.isoformat(),
                       "from": adj.from_status, "to": adj.to_status})
    return adj


def central_exception(session: Session, config: Config, *, person_id: int, day: date,
                      to_status: str, reason: Reason, ref: str, by: str,
                      now: datetime) -> AttendanceAdjustment:
    """Change a locked (or any) student-day centrally, under an audit reference; never per school."""
    if not ref.strip() or not by.strip():
        raise NotAllowed("a central exception needs an audit reference and who grants it")
    if to_status not in STATUSES:
        raise NothingToChange(f"status must be one of {', '.join(STATUSES)}")
    where = student_day(session, person_id, day)
    if where.status == to_status:
        raise NothingToChange(f"student {person_id} is already {to_status} on {day}")
    adj = AttendanceAdjustment(
        school_id=where.school_id, class_id=where.class_id, day=day, person_id=person_id,
        from_status=where.status, to_status=to_status, reason_code=reason.value,
        requested_by=by[:100], requested_at=now, state=AdjustmentState.APPROVED.value,
        decided_by=by[:100], decided_at=now, exception_ref=ref[:100])
    session.add(adj)
    session.flush()
    _apply(session, adj)
    audit.record(session, actor=by, action="adjustment.central_exception", entity="adjustment",
                 entity_id=adj.id, reason=f"{reason.value} (ref {ref})",
                 data={"person": person_id, "day": day.isoformat(), "from": where.status,
                       "to": to_status,
                       "locked": is_locked(session, config, day, where.school_id, now)})
    return adj


def expire_overdue(session: Session, config: Config, now: datetime) -> int:
    """Expire pending requests whose school-day has locked (audited); return how many."""
    rows = session.scalars(select(AttendanceAdjustment).where(
        AttendanceAdjustment.state == AdjustmentState.PENDING.value)).all()
    n = 0
    for adj in rows:
        if is_locked(session, config, adj.day, adj.school_id, now):
            locked_on = lock_day(session, config, adj.day, adj.school_id)
            adj.state, adj.decided_at, adj.decided_by = AdjustmentState.EXPIRED.value, now, "window"
            audit.record(session, actor="adjustments", action="adjustment.expire",
                         entity="adjustment", entity_id=adj.id,
                         reason=f"not decided by {locked_on}", data={})
            n += 1
    return n


def next_pending(session: Session, approver_id: int) -> AttendanceAdjustment | None:
    """Return the oldest request an approver may decide (their school's, not their own)."""
    approver = session.get(Person, approver_id)
    if approver is None or approver.role not in (Role.PRINCIPAL.value, Role.CHAMPION.value):
        return None
    return session.scalars(select(AttendanceAdjustment).where(
        AttendanceAdjustment.school_id == approver.school_id,
        AttendanceAdjustment.state == AdjustmentState.PENDING.value,
        AttendanceAdjustment.requested_by != f"staff:{approver_id}")
        .order_by(AttendanceAdjustment.id).limit(1)).first()


def pending_for_school(session: Session, school_id: int) -> list[AttendanceAdjustment]:
    """Return a school's pending adjustments, oldest first."""
    return list(session.scalars(select(AttendanceAdjustment).where(
        AttendanceAdjustment.school_id == school_id,
        AttendanceAdjustment.state == AdjustmentState.PENDING.value)
        .order_by(AttendanceAdjustment.id)))


def as_dict(session: Session, config: Config, adj: AttendanceAdjustment) -> dict[str, object]:
    """Return an adjustment as JSON-ready data (ids only: no names, no numbers)."""
    return {"id": adj.id, "day": adj.day.isoformat(), "person_id": adj.person_id,
            "class_id": adj.class_id, "from": adj.from_status, "to": adj.to_status,
            "reason": adj.reason_code, "state": adj.state, "requested_by": adj.requested_by,
            "requested_at": adj.requested_at.isoformat(), "decided_by": adj.decided_by,
            "decided_at": adj.decided_at.isoformat() if adj.decided_at else None,
            "exception_ref": adj.exception_ref,
            "locks_after": lock_day(session, config, adj.day, adj.school_id).isoformat()}
