"""Play a term for a sandbox district through the real gate code, on a throwaway database.

Honest schools, a school that copies paper into the phone in the evening, a school whose
governorate closes for a week, a sloppy school, and a school that joins mid-term (R9).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from core import calendar, calendar_store, migrate
from core.config import Config
from core.db import make_engine, make_sessionmaker
from core.gate import paper, service
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    Enrolment,
    Person,
    School,
    SchoolClass,
    SchoolCalendarRow,
)


@dataclass(frozen=True)
class Profile:
    """How a simulated school behaves."""

    code: str
    kind: str
    governorate: str
    error_rate: float = 0.002  # digital differs from paper on this share of student-days
    copies: bool = False  # types the paper register into one phone in the evening
    copies_between: tuple[date, date] | None = None  # ... only on these days (catching up)
    joins: date | None = None  # R9: a school that joins after the pilot started


DISTRICT = (
    Profile("SIM-HONEST-1", "honest", "Cairo"),
    Profile("SIM-HONEST-2", "honest", "Giza"),
    Profile("SIM-COPY", "copies paper in the evening", "Cairo", error_rate=0.0, copies=True),
    Profile("SIM-HOLIDAYS", "honest; governorate closed a week", "Aswan"),
    Profile("SIM-CATCHUP", "copied one week in the evenings", "Giza",
            copies_between=(date(2026, 9, 20), date(2026, 9, 24))),
    Profile("SIM-SLOPPY", "digital often wrong", "Giza", error_rate=0.05),
    Profile("SIM-NEW", "joins mid-term (R9)", "Cairo", joins=date(2026, 10, 18)),
)
CLASSES, STUDENTS = 4, 12


@dataclass
class Outcome:
    """What happened to one simulated school."""

    profile: Profile
    fired_on: date | None = None
    weeks: list[str] = field(default_factory=list)


def _moment(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    return calendar.at_cairo(day, time(hh, mm, ss))


def _build(s: Session, profiles: tuple[Profile, ...]) -> dict[str, dict]:  # type: ignore[type-arg]
    out = {}
    for p in profiles:
        school = School(upstream_id=p.code, name=p.code, governorate=p.governorate)
        s.add(school)
        s.flush()
        if p.joins:
            s.add(SchoolCalendarRow(school_id=school.id, joined_on=p.joins, set_by="simulation"))
        classes, kids = [], {}
        for c in range(CLASSES):
            cls = SchoolClass(upstream_id=f"{p.code}-C{c}", school_id=school.id, name=str(c), grade=c + 1)
            teacher = Person(upstream_id=f"{p.code}-T{c}", school_id=school.id, role="teacher",
                             display_name="T", name_key="t")
            s.add_all([cls, teacher])
            s.flush()
            students = [Person(upstream_id=f"{p.code}-C{c}-S{i}", school_id=school.id,
                               role="student", display_name="S", name_key="s") for i in range(STUDENTS)]
            s.add_all(students)
            s.flush()
            s.add_all(Enrolment(person_id=k.id, class_id=cls.id) for k in students)
            classes.append((cls, teacher))
            kids[cls.id] = students
        out[p.code] = {"id": school.id, "classes": classes, "kids": kids}
    return out


def _day(s: Session, p: Profile, built: dict, day: date, rng: random.Random,  # type: ignore[type-arg]
         rows: list[str]) -> None:
    """One school day: paper statuses for the CSV, and the digital register as captured."""
    for n, (cls, teacher) in enumerate(built["classes"]):
        truth = {k.id: rng.choices(("present", "absent", "late"), (0.89, 0.08, 0.03))[0]
                 for k in built["kids"][cls.id]}
        rows.extend(f"{cls.upstream_id},{day.isoformat()},{k.upstream_id},{truth[k.id]}"
                    for k in built["kids"][cls.id])
        if p.copies or (p.copies_between and p.copies_between[0] <= day <= p.copies_between[1]):
            at = _moment(day, 19, 0) + timedelta(seconds=8 * n)
            phone = "+201009999999"
        else:
            at = _moment(day, 8, 0) + timedelta(seconds=rng.randint(0, 45 * 60))
            phone = f"+20100000{built['id']:02d}{n}"
        rec = AttendanceRecord(class_id=cls.id, day=day, taken_by=teacher.id, class_size=STUDENTS,
                               confirmed_at=at, session_id="sim", msisdn=phone)
        s.add(rec)
        s.flush()
        for kid in built["kids"][cls.id]:
            status = truth[kid.id]
            if rng.random() < p.error_rate:
                status = "absent" if status == "present" else "present"
            if status != "present":
                s.add(AttendanceMark(record_id=rec.id, person_id=kid.id, status=status,
                                     captured_at=at, session_id="sim", marked_by=teacher.id))


def run(workdir: Path, start: date, end: date, seed: int = 2026,
        profiles: tuple[Profile, ...] = DISTRICT) -> list[Outcome]:
    """Play start..end for the district; return each school's firing (or none) and weeks."""
    url = f"sqlite:///{workdir / 'gate-simulation.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    config = Config(env="test", database_url=url)
    # A throwaway database, but its audit chain is keyed like any other.
    sessions: sessionmaker[Session] = make_sessionmaker(engine, config.audit_key_bytes)
    rng = random.Random(seed)
    with sessions() as s, s.begin():
        service.register_directive(s, "MOE pilot directive 2026/27",
                                   "Paper registers retire in a school when the parity gate fires.",
                                   by="ministry", now=_moment(start - timedelta(days=14), 10, 0))
        built = _build(s, profiles)
        calendar_store.add_exception(s, scope="governorate", governorate="Aswan",
                                     days=[date(2026, 9, 13) + timedelta(days=i) for i in range(5)],
                                     open_day=False, reference="SIM-FLOODS", by="simulation",
                                     reason="floods")
    outcomes = {p.code: Outcome(p) for p in profiles}
    week_rows: dict[str, list[str]] = {p.code: [] for p in profiles}
    day = start
    while day <= end:
        with sessions() as s, s.begin():
            cal = calendar_store.load(s, config)
            for p in profiles:
                sid = built[p.code]["id"]
                if (p.joins and day < p.joins) or not cal.is_school_day(day, sid):
                    continue
                _day(s, p, built[p.code], day, rng, week_rows[p.code])
        if day.weekday() == 3:  # Thursday afternoon: the week's paper registers are uploaded
            with sessions() as s, s.begin():
                cal = calendar_store.load(s, config)
                for p in profiles:
                    if week_rows[p.code]:
                        paper.apply_csv(s, p.code, "class,day,student,status\n" + "\n".join(
                            week_rows[p.code]), cal=cal, today=day, actor="simulation",
                            now=_moment(day, 16, 0))
                        week_rows[p.code] = []
        if day.weekday() == 6:  # Sunday: the gate evaluates the completed weeks
            _evaluate(sessions, config, built, outcomes, _moment(day, 6, 0))
        day += timedelta(days=1)
    _evaluate(sessions, config, built, outcomes, _moment(end + timedelta(days=1), 6, 0))
    engine.dispose()
    return list(outcomes.values())


def _evaluate(sessions: sessionmaker[Session], config: Config, built: dict,  # type: ignore[type-arg]
              outcomes: dict[str, Outcome], now: datetime) -> None:
    with sessions() as s, s.begin():
        cal = calendar_store.load(s, config)
        for code, out in outcomes.items():
            rep = service.evaluate(s, built[code]["id"], cal, now, actor="simulation")
            out.weeks = [f"{w.week_start:%d %b} {w.verdict.value}"
                         f"{'' if w.parity is None else f' {w.parity:.1%}'}"
                         f"{f' excl {w.excluded}/{w.eligible}' if w.excluded else ''}"
                         for w in rep.weeks]
            if rep.state is service.State.DIGITAL and out.fired_on is None:
                out.fired_on = calendar.to_cairo(now).date()
