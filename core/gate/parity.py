"""Weekly parity per school: the share of eligible student-days where digital agrees with paper."""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.gate import anomaly
from core.gate.anomaly import Capture
from core.gate.rules import Rules
from core.models import AttendanceMark, AttendanceRecord, PaperMark, SchoolClass
from core.school_calendar import SchoolCalendar


class Verdict(str, enum.Enum):
    PASS = "pass"  # parity at or above the threshold: counts toward the streak
    FAIL = "fail"  # below the threshold: the streak starts again
    VOID = "void"  # too much excluded, or too little paper: does not count, streak starts again
    NEUTRAL = "neutral"  # no school day in the week (holidays): neither counts nor breaks


@dataclass(frozen=True)
class Week:
    """One school-week's figures (aggregates only: no class, teacher or student names)."""

    week_start: date
    school_days: int
    eligible: int  # student-days with a paper mark on a school day
    excluded: int  # of which in class-days the anomaly engine flagged
    agreed: int  # of the rest, digital equals paper
    flagged: dict[str, int]  # class-days flagged per rule
    parity: float | None
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["week_start"], out["verdict"] = self.week_start.isoformat(), self.verdict.value
        return out


def week(session: Session, school_id: int, start: date, cal: SchoolCalendar,
         rules: Rules) -> Week:
    """Compute parity for the school-week beginning on Sunday `start`."""
    days = [d for d in (start + timedelta(days=i) for i in range(7))
            if cal.is_school_day(d, school_id)]
    if not days:
        return Week(start, 0, 0, 0, 0, {}, None, Verdict.NEUTRAL)
    classes = select(SchoolClass.id).where(SchoolClass.school_id == school_id)
    paper = session.execute(select(PaperMark.class_id, PaperMark.day, PaperMark.person_id,
                                   PaperMark.status)
                            .where(PaperMark.class_id.in_(classes), PaperMark.day.in_(days))).all()
    records = {(c, d): (rid, at, phone) for rid, c, d, at, phone in session.execute(
        select(AttendanceRecord.id, AttendanceRecord.class_id, AttendanceRecord.day,
               AttendanceRecord.confirmed_at, AttendanceRecord.msisdn)
        .where(AttendanceRecord.class_id.in_(classes), AttendanceRecord.day.in_(days)))}
    rid_key = {rid: key for key, (rid, _, _) in records.items()}
    digital: dict[tuple[int, int], str] = {}
    last: dict[int, datetime] = {}
    if rid_key:
        for rid, pid, status, at in session.execute(
                select(AttendanceMark.record_id, AttendanceMark.person_id, AttendanceMark.status,
                       AttendanceMark.captured_at).where(AttendanceMark.record_id.in_(rid_key))):
            digital[(rid, pid)] = status
            last[rid] = max(last.get(rid, at), at)
    paper_at = {(c, d): at for c, d, at in session.execute(
        select(PaperMark.class_id, PaperMark.day, func.min(PaperMark.first_uploaded_at))
        .where(PaperMark.class_id.in_(classes), PaperMark.day.in_(days))
        .group_by(PaperMark.class_id, PaperMark.day))}
    captures = [Capture(c, d, phone, at, max(at, last.get(rid, at)), cal.cutoff_at(d, school_id),
                        paper_at.get((c, d))) for (c, d), (rid, at, phone) in records.items()]
    flags = anomaly.flag(captures, rules)
    excluded_days = set().union(*flags.values()) if flags else set()
    eligible = excluded = agreed = 0
    for class_id, day, person_id, status in paper:
        eligible += 1
        if (class_id, day) in excluded_days:
            excluded += 1
            continue
        rec = records.get((class_id, day))
        seen = "unrecorded" if rec is None else digital.get((rec[0], person_id), "present")
        agreed += seen == status
    counted = eligible - excluded
    parity = agreed / counted if counted else None
    flagged = {name: len(keys) for name, keys in flags.items()}
    if eligible < rules.min_student_days or not counted:
        verdict = Verdict.VOID
    elif excluded / eligible > rules.max_excluded_share:
        verdict = Verdict.VOID
    else:
        verdict = Verdict.PASS if parity is not None and parity >= rules.parity_threshold \
            else Verdict.FAIL
    return Week(start, len(days), eligible, excluded, agreed, flagged,
                round(parity, 4) if parity is not None else None, verdict)


def streak(weeks: list[Week], rules: Rules) -> list[Week]:
    """Return the weeks that fire the gate (the first qualifying run), or [] if none."""
    run: list[Week] = []
    for w in weeks:
        if w.verdict is Verdict.NEUTRAL:
            continue
        run = run + [w] if w.verdict is Verdict.PASS else []
        if len(run) >= rules.consecutive_weeks:
            return run[-rules.consecutive_weeks:]
    return []


def per_school_counts(weeks: list[Week]) -> dict[str, int]:
    """Count a school's weeks by verdict."""
    out: dict[str, int] = defaultdict(int)
    for w in weeks:
        out[w.verdict.value] += 1
    return dict(out)
