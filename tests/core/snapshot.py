"""A comparable picture of everything sync writes (ids and timestamps left out)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.models import (
    DuplicateFlag,
    Enrolment,
    Person,
    QuarantinedRecord,
    School,
    SchoolClass,
)


def snapshot(session: Session) -> dict[str, Any]:
    """Return schools, classes, people, open enrolments, flags and quarantine as sorted tuples."""
    other = aliased(Person)
    return {
        "schools": sorted(session.execute(select(School.upstream_id, School.name, School.active)).all()),
        "classes": sorted(session.execute(
            select(SchoolClass.upstream_id, School.upstream_id, SchoolClass.grade, SchoolClass.active)
            .join(School, School.id == SchoolClass.school_id)).all()),
        "people": sorted(session.execute(
            select(Person.upstream_id, School.upstream_id, Person.role, Person.display_name,
                   Person.status, Person.active).join(School, School.id == Person.school_id)).all()),
        "enrolments": sorted(session.execute(
            select(Person.upstream_id, SchoolClass.upstream_id)
            .select_from(Enrolment)
            .join(Person, Person.id == Enrolment.person_id)
            .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
            .where(Enrolment.ended_at.is_(None))).all()),
        "flags": sorted(session.execute(
            select(Person.upstream_id, other.upstream_id, DuplicateFlag.status)
            .select_from(DuplicateFlag)
            .join(Person, Person.id == DuplicateFlag.person_id)
            .join(other, other.id == DuplicateFlag.other_person_id)).all()),
        "quarantine": sorted(session.execute(
            select(QuarantinedRecord.upstream_id, QuarantinedRecord.reason)).all(),
            key=lambda r: (r[0] or "", r[1])),
    }
