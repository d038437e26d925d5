"""What Hudoor holds for a class-day or school-day, as contract v2 class-days.

The original marks are never changed by an adjustment: the effective status of a
student-day is its newest approved adjustment, else its mark, else present.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import (
    AdjustmentState,
    AttendanceAdjustment,
    AttendanceMark,
    AttendanceRecord,
    Person,
    School,
    SchoolClass,
)
from core.writeback.fingerprint import ClassDay


def _build(session: Session, day: date, cond: Any) -> list[tuple[int, str, ClassDay]]:
    """Return (class db id, school upstream id, class-day) for the records matching `cond`."""
    recs = session.execute(
        select(AttendanceRecord.id, AttendanceRecord.class_id, SchoolClass.upstream_id,
               School.upstream_id, AttendanceRecord.revision, AttendanceRecord.class_size)
        .join(SchoolClass, SchoolClass.id == AttendanceRecord.class_id)
        .join(School, School.id == SchoolClass.school_id)
        .where(AttendanceRecord.day == day, cond)).all()
    if not recs:
        return []
    by_record = {r[0]: r for r in recs}
    marks: dict[int, dict[str, str]] = defaultdict(dict)
    for rid, student, status in session.execute(
            select(AttendanceMark.record_id, Person.upstream_id, AttendanceMark.status)
            .join(Person, Person.id == AttendanceMark.person_id)
            .where(AttendanceMark.record_id.in_(list(by_record)))):
        marks[rid][student] = status
    class_to_record = {r[1]: r[0] for r in recs}
    for cid, student, to_status in session.execute(
            select(AttendanceAdjustment.class_id, Person.upstream_id, AttendanceAdjustment.to_status)
            .join(Person, Person.id == AttendanceAdjustment.person_id)
            .where(AttendanceAdjustment.day == day,
                   AttendanceAdjustment.class_id.in_(list(class_to_record)),
                   AttendanceAdjustment.state == AdjustmentState.APPROVED.value)
            .order_by(AttendanceAdjustment.decided_at, AttendanceAdjustment.id)):
        held = marks[class_to_record[cid]]
        if to_status == "present":
            held.pop(student, None)
        else:
            held[student] = to_status
    return [(cid, school, ClassDay(cup, rev, size, tuple(sorted(marks[rid].items()))))
            for rid, cid, cup, school, rev, size in recs]


def school_day(session: Session, school_id: int, day: date) -> list[ClassDay]:
    """Return every class-day Hudoor holds for one school on one day."""
    return [cd for _, _, cd in _build(session, day, SchoolClass.school_id == school_id)]


def class_day(session: Session, class_id: int, day: date) -> tuple[str, ClassDay] | None:
    """Return (school upstream id, class-day) of one class on one day, if taken."""
    rows = _build(session, day, AttendanceRecord.class_id == class_id)
    return (rows[0][1], rows[0][2]) if rows else None
