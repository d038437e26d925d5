"""Build attendance for write-back tests through the core's capture functions."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import select

from core import attendance
from core.pseudonyms import msisdn_ref
from core.models import Enrolment, Person, SchoolClass
from core.writeback import snapshot
from core.writeback.fingerprint import ClassDay


def teacher_classes(session) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Return (class id, a teacher of it) for every class that has a teacher."""
    rows = session.execute(
        select(Enrolment.class_id, Person.id).join(Person, Person.id == Enrolment.person_id)
        .where(Person.role == "teacher", Enrolment.ended_at.is_(None))
        .order_by(Enrolment.class_id, Person.id)).all()
    seen: dict[int, int] = {}
    for cid, pid in rows:
        seen.setdefault(cid, pid)
    return sorted(seen.items())


def confirm_days(rt, days: list[date], seed: int = 1, late_share: float = 0.3) -> int:  # type: ignore[no-untyped-def]
    """Confirm every class on every day with random absences; some get late arrivals after."""
    rng = random.Random(seed)
    n = 0
    sim = msisdn_ref(rt.config.secret_key, "+201001234567")  # records hold the SIM's keyed hash
    with rt.sessions() as s, s.begin():
        for day in days:
            for cid, teacher in teacher_classes(s):
                roll = [pid for pid, _ in attendance.roster(s, cid)[0]]
                absent = tuple(rng.sample(roll, min(len(roll), rng.randint(0, 4))))
                attendance.confirm(s, class_id=cid, staff_id=teacher, day=day, absent=absent,
                                   late=(), session_id=f"s-{cid}-{day}", msisdn=sim)
                n += 1
                if absent and rng.random() < late_share:
                    attendance.mark_late(s, class_id=cid, staff_id=teacher, day=day,
                                         late=absent[:1], session_id=f"l-{cid}-{day}")
    return n


def local_school_days(rt, day: date) -> dict[str, list[ClassDay]]:  # type: ignore[no-untyped-def]
    """Return what Hudoor holds for each school on `day`, by upstream school id."""
    from core.models import School

    with rt.sessions() as s:
        return {up: snapshot.school_day(s, sid, day)
                for sid, up in s.execute(select(School.id, School.upstream_id))}


def any_class(session) -> SchoolClass:  # type: ignore[no-untyped-def]
    return session.scalars(select(SchoolClass).order_by(SchoolClass.id)).first()
