"""Schools for the quiz tests: picked by their cohort bucket, each with a class and guardians."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from core import contacts, cohorts
from core.calendar import CAIRO
from core.models import Enrolment, Person, School, SchoolClass

FEATURE = "assessments"
EVE = datetime(2027, 1, 9, 23, 59, tzinfo=CAIRO)  # the last minute before Phase 2
OPENS = datetime(2027, 1, 10, 0, 0, tzinfo=CAIRO)
_numbers = itertools.count(100)


def school_uid(lo_percent: int, hi_percent: int, prefix: str = "SCH-Q") -> str:
    """Return a school id whose bucket is in the stage `hi_percent` but not in `lo_percent`."""
    for i in itertools.count():
        uid = f"{prefix}{i}"
        if not cohorts.in_stage(FEATURE, uid, lo_percent) and cohorts.in_stage(FEATURE, uid, hi_percent):
            return uid
    raise AssertionError("unreachable")


@dataclass
class QuizSchool:
    uid: str
    class_uid: str
    phones: list[str] = field(default_factory=list)  # one guardian SIM per student
    student_ids: list[int] = field(default_factory=list)
    champion: str = ""


def seed(rt, uid: str, students: int = 1, lang: str = "en") -> QuizSchool:  # type: ignore[no-untyped-def]
    """Create a school, one class, `students` students each with a linked guardian, a champion."""
    out = QuizSchool(uid, f"{uid}-C1", champion=f"{uid}-CH")
    with rt.sessions() as s, s.begin():
        school = School(upstream_id=uid, name=f"School {uid}", governorate="Cairo")
        s.add(school)
        s.flush()
        klass = SchoolClass(upstream_id=out.class_uid, school_id=school.id, name="4/A", grade=4)
        s.add(klass)
        s.add(Person(upstream_id=out.champion, school_id=school.id, role="champion",
                     display_name="Champion", name_key="champion"))
        s.flush()
        for k in range(students):
            student = Person(upstream_id=f"{uid}-S{k}", school_id=school.id, role="student",
                             display_name=f"Student {k}", name_key=f"student {k}")
            s.add(student)
            s.flush()
            s.add(Enrolment(person_id=student.id, class_id=klass.id))
            msisdn = f"+2010012{next(_numbers):05d}"
            contacts.link_guardian(s, student, msisdn, lang, actor="test:seed")
            out.phones.append(msisdn)
            out.student_ids.append(student.id)
    return out
