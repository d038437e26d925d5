"""Attendance capture: who may take a class, its roll order, confirm once, late arrivals (U1, U2)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, func, insert, literal, select, union_all, update
from sqlalchemy.orm import Session, aliased

from core import audit, calendar
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    Delegation,
    Enrolment,
    MarkStatus,
    Person,
    Role,
    SchoolClass,
    utcnow,
)


class NotAllowed(PermissionError):
    """This staff member may not take this class (not theirs, no live delegation)."""


class AlreadyTaken(Exception):
    """Another session already confirmed this class today."""


class NotTakenYet(Exception):
    """Late arrivals need the class's attendance to be confirmed first."""


@dataclass(frozen=True)
class ClassRow:
    id: int
    name: str
    size: int
    taken: bool
    delegated: bool


def _held(staff_id: int, now: datetime):  # type: ignore[no-untyped-def]
    """Select the class ids a staff member teaches or holds by a live delegation."""
    own = select(Enrolment.class_id.label("class_id")).where(
        Enrolment.person_id == staff_id, Enrolment.ended_at.is_(None))
    held = select(Delegation.class_id.label("class_id")).where(
        Delegation.grantee_id == staff_id, Delegation.revoked_at.is_(None),
        Delegation.starts_at <= now, Delegation.ends_at > now)
    return own, held


def classes_for(session: Session, staff_id: int, day: date, now: datetime, *,
                with_taken: bool = True) -> list[ClassRow]:
    """Return the classes a staff member may take today: their own, then delegated ones.

    One statement for ids, names, sizes and ownership (it runs on the first hop of every
    teacher's session); `with_taken=False` skips the taken-today query for callers that
    keep those flags elsewhere (the USSD hop cache).
    """
    own_q, held_q = _held(staff_id, now)
    src = union_all(own_q.add_columns(literal(1).label("own")),
                    held_q.add_columns(literal(0).label("own"))).subquery()
    mine = select(src.c.class_id, func.max(src.c.own).label("own")).group_by(src.c.class_id).subquery()
    member = aliased(Enrolment)
    rows = session.execute(
        select(SchoolClass.id, SchoolClass.name, func.count(Person.id), mine.c.own)
        .join(mine, mine.c.class_id == SchoolClass.id)
        .outerjoin(member, and_(member.class_id == SchoolClass.id, member.ended_at.is_(None)))
        .outerjoin(Person, and_(Person.id == member.person_id, Person.role == Role.STUDENT.value,
                                Person.active.is_(True)))
        .where(SchoolClass.active.is_(True))
        .group_by(SchoolClass.id, SchoolClass.name, mine.c.own)
        .order_by(mine.c.own.desc(), SchoolClass.name, SchoolClass.id)).all()
    taken: set[int] = set()
    if with_taken and rows:
        taken = set(session.scalars(select(AttendanceRecord.class_id).where(
            AttendanceRecord.class_id.in_([r[0] for r in rows]), AttendanceRecord.day == day)))
    return [ClassRow(cid, name, size, cid in taken, not own) for cid, name, size, own in rows]


def may_take(session: Session, staff_id: int, class_id: int, now: datetime) -> bool:
    """Tell whether a staff member may take a class now (theirs, or delegated and live)."""
    own_q, held_q = _held(staff_id, now)
    allowed = union_all(own_q, held_q).subquery()
    return bool(session.scalar(select(func.count()).where(allowed.c.class_id == class_id)))


def taken_on(session: Session, day: date) -> list[int]:
    """Return the ids of every class whose attendance is confirmed on `day`."""
    return list(session.scalars(select(AttendanceRecord.class_id).where(AttendanceRecord.day == day)))


def roster(session: Session, class_id: int) -> tuple[tuple[tuple[int, str], ...], str]:
    """Return the class's active students in roll order, and a fingerprint of that order."""
    rows = tuple((pid, name) for pid, name in session.execute(
        select(Person.id, Person.display_name).join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.class_id == class_id, Enrolment.ended_at.is_(None),
               Person.role == Role.STUDENT.value, Person.active.is_(True))
        .order_by(Person.name_key, Person.upstream_id)))
    digest = hashlib.blake2b(",".join(str(pid) for pid, _ in rows).encode(), digest_size=4)
    return rows, digest.hexdigest()


def _check_allowed(session: Session, staff_id: int, class_id: int, day: date) -> None:
    if not may_take(session, staff_id, class_id, utcnow()):
        raise NotAllowed(f"staff {staff_id} may not take class {class_id}")


def confirm(session: Session, *, class_id: int, staff_id: int, day: date, absent: tuple[int, ...],
            late: tuple[int, ...], session_id: str, msisdn: str) -> AttendanceRecord:
    """Store a class's attendance for the day exactly once; a repeat of the same session is a no-op.

    Raises:
        NotAllowed: the staff member may not take this class.
        AlreadyTaken: a different session confirmed the class first.
    """
    existing = session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.class_id == class_id, AttendanceRecord.day == day)).first()
    if existing is not None:
        if existing.session_id == session_id or _same_marks(session, existing, staff_id, absent, late):
            return existing  # an operator retry, a double confirm, a resumed session
        raise AlreadyTaken(f"class {class_id} was taken on {day} by another session")
    _check_allowed(session, staff_id, class_id, day)
    students = {pid for pid, _ in roster(session, class_id)[0]}
    now = utcnow()
    record = AttendanceRecord(class_id=class_id, day=day, taken_by=staff_id, class_size=len(students),
                              confirmed_at=now, session_id=session_id[:100], msisdn=msisdn)
    session.add(record)
    session.flush()
    marks = [{"record_id": record.id, "person_id": pid, "status": status.value, "captured_at": now,
              "session_id": session_id[:100], "marked_by": staff_id}
             for status, pids in ((MarkStatus.ABSENT, absent), (MarkStatus.LATE, late))
             for pid in pids if pid in students]
    if marks:
        session.execute(insert(AttendanceMark), marks)
    audit.record(session, actor=f"staff:{staff_id}", action="attendance.confirm", entity="class",
                 entity_id=class_id, reason="confirmed over USSD",
                 data={"day": day.isoformat(), "absent": list(absent), "late": list(late),
                       "size": len(students), "session": session_id[:100]})
    return record


def _same_marks(session: Session, record: AttendanceRecord, staff_id: int, absent: tuple[int, ...],
                late: tuple[int, ...]) -> bool:
    """Tell whether a second confirm by the same teacher repeats what is stored."""
    if record.taken_by != staff_id:
        return False
    stored = set(session.execute(select(AttendanceMark.person_id, AttendanceMark.status)
                                 .where(AttendanceMark.record_id == record.id)).all())
    wanted = {(p, MarkStatus.ABSENT.value) for p in absent} | {(p, MarkStatus.LATE.value) for p in late}
    return stored == wanted


def mark_late(session: Session, *, class_id: int, staff_id: int, day: date, late: tuple[int, ...],
              session_id: str) -> int:
    """Record late arrivals after confirmation: a late mark supersedes an absence (U2).

    Returns:
        how many marks changed (a repeat changes nothing).
    """
    record = session.scalars(select(AttendanceRecord).where(
        AttendanceRecord.class_id == class_id, AttendanceRecord.day == day)).first()
    if record is None:
        raise NotTakenYet(f"class {class_id} has no attendance on {day}")
    _check_allowed(session, staff_id, class_id, day)
    students = {pid for pid, _ in roster(session, class_id)[0]}
    now = utcnow()
    marks = dict(session.execute(select(AttendanceMark.person_id, AttendanceMark.status)
                                 .where(AttendanceMark.record_id == record.id)).all())
    to_update = [pid for pid in late if pid in students and marks.get(pid) == MarkStatus.ABSENT.value]
    to_insert = [pid for pid in late if pid in students and pid not in marks]
    if to_update:
        session.execute(update(AttendanceMark).where(
            and_(AttendanceMark.record_id == record.id, AttendanceMark.person_id.in_(to_update)))
            .values(status=MarkStatus.LATE.value, captured_at=now, session_id=session_id[:100],
                    marked_by=staff_id))
    if to_insert:
        session.execute(insert(AttendanceMark), [
            {"record_id": record.id, "person_id": pid, "status": MarkStatus.LATE.value,
             "captured_at": now, "session_id": session_id[:100], "marked_by": staff_id}
            for pid in to_insert])
    if to_update or to_insert:
        audit.record(session, actor=f"staff:{staff_id}", action="attendance.late", entity="class",
                     entity_id=class_id, reason="late arrival over USSD",
                     data={"day": day.isoformat(), "was_absent": to_update, "was_present": to_insert})
    return len(to_update) + len(to_insert)


def late_allowed(now: datetime, cutoff: time) -> bool:
    """Tell whether late arrivals may still be marked today (before the digest cut-off)."""
    local = calendar.to_cairo(now)
    return calendar.is_school_day(local.date()) and local.time() < cutoff


