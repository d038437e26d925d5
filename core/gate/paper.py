"""Paper-register uploads: every row validated, all applied or none (paper is the legal record)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.models import Enrolment, PaperMark, PaperUpload, Person, School, SchoolClass
from core.school_calendar import SchoolCalendar

COLUMNS = ("class", "day", "student", "status")
STATUSES = ("present", "absent", "late")
MAX_ROWS = 50_000


@dataclass(frozen=True)
class RowError:
    """Why one row (1 = the first data row) was refused."""

    row: int
    error: str


class PaperRejected(ValueError):
    """The upload was refused as a whole; nothing was applied."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} row(s) refused")
        self.errors = errors


@dataclass(frozen=True)
class Applied:
    """What an accepted upload did."""

    upload_id: int
    rows: int
    new: int
    changed: int


def _parse(text: str) -> tuple[list[dict[str, str]], list[RowError]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if tuple(header) != COLUMNS:
        return [], [RowError(0, f"header must be {','.join(COLUMNS)}; got {','.join(header) or 'nothing'}")]
    rows = [{k.strip().lower(): (v or "").strip() for k, v in r.items() if k is not None}
            for r in reader]
    if not rows:
        return [], [RowError(0, "no rows")]
    if len(rows) > MAX_ROWS:
        return [], [RowError(0, f"at most {MAX_ROWS} rows per upload")]
    return rows, []


def apply_csv(session: Session, school_upstream_id: str, text: str, *, cal: SchoolCalendar,
              today: date, actor: str, now: datetime) -> Applied:
    """Validate every row, then store all of them (merge: a changed status is audited).

    Raises:
        PaperRejected: with every row's error; nothing is stored.
    """
    school = session.scalars(select(School).where(School.upstream_id == school_upstream_id)).first()
    if school is None:
        raise PaperRejected([RowError(0, f"no school {school_upstream_id}")])
    rows, errors = _parse(text)
    if errors:
        raise PaperRejected(errors)
    classes = dict(session.execute(select(SchoolClass.upstream_id, SchoolClass.id)
                                   .where(SchoolClass.school_id == school.id)).all())
    students = dict(session.execute(select(Person.upstream_id, Person.id).where(
        Person.school_id == school.id, Person.role == "student")).all())
    enrolled = {(p, c) for p, c in session.execute(select(Enrolment.person_id, Enrolment.class_id)
                                                   .where(Enrolment.class_id.in_(classes.values())))}
    seen: set[tuple[int, date, int]] = set()
    good: list[tuple[int, date, int, str]] = []
    for n, row in enumerate(rows, start=1):
        problem, key = _check(row, classes, students, enrolled, cal, school.id, today)
        if problem is None and key is not None:
            if key in seen:
                problem = "the same student, class and day twice in this file"
            seen.add(key)
        if problem:
            errors.append(RowError(n, problem))
        elif key is not None:
            good.append((*key, row["status"].lower()))
    if errors:
        raise PaperRejected(errors)
    return _store(session, school.id, good, actor=actor, now=now)


def _check(row: dict[str, str], classes: dict[str, int], students: dict[str, int],
           enrolled: set[tuple[int, int]], cal: SchoolCalendar, school_id: int,
           today: date) -> tuple[str | None, tuple[int, date, int] | None]:
    class_id = classes.get(row.get("class", ""))
    if class_id is None:
        return f"class {row.get('class')!r} is not a class of this school", None
    try:
        day = date.fromisoformat(row.get("day", ""))
    except ValueError:
        return f"day {row.get('day')!r} is not YYYY-MM-DD", None
    if day > today:
        return f"day {day.isoformat()} is in the future", None
    if not cal.is_school_day(day, school_id):
        return f"{day.isoformat()} is not a school day for this school", None
    person_id = students.get(row.get("student", ""))
    if person_id is None:
        return f"student {row.get('student')!r} is not a student of this school", None
    if (person_id, class_id) not in enrolled:
        return f"student {row.get('student')} is not in class {row.get('class')}", None
    if row.get("status", "").lower() not in STATUSES:
        return f"status must be one of {', '.join(STATUSES)}", None
    return None, (class_id, day, person_id)


def _store(session: Session, school_id: int, good: list[tuple[int, date, int, str]], *,
           actor: str, now: datetime) -> Applied:
    upload = PaperUpload(school_id=school_id, uploaded_by=actor, uploaded_at=now, rows=len(good))
    session.add(upload)
    session.flush()
    days = {d for _, d, _, _ in good}
    existing = {(m.class_id, m.day, m.person_id): m for m in session.scalars(select(PaperMark).where(
        PaperMark.class_id.in_({c for c, _, _, _ in good}), PaperMark.day.in_(days)))}
    new, changed = [], []
    for class_id, day, person_id, status in good:
        mark = existing.get((class_id, day, person_id))
        if mark is None:
            new.append(PaperMark(upload_id=upload.id, class_id=class_id, day=day,
                                 person_id=person_id, status=status, first_uploaded_at=now))
        elif mark.status != status:
            changed.append({"class": class_id, "day": day.isoformat(), "person": person_id,
                            "was": mark.status, "now": status})
            mark.status, mark.upload_id = status, upload.id
    session.add_all(new)
    audit.record(session, actor=actor, action="paper.upload", entity="paper_upload",
                 entity_id=upload.id, reason="paper register submitted",
                 data={"school_id": school_id, "rows": len(good), "new": len(new),
                       "changed": changed[:500]})
    return Applied(upload.id, len(good), len(new), len(changed))
