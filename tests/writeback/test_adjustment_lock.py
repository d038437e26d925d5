"""The adjustment lock counts a school's own working days: feasts and governorate closures."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from core import calendar_store
from core.models import AttendanceMark, CalendarHoliday, Person, School
from gateway.cli import cli
from tests.writeback.support import confirm_days

MONDAY = date(2026, 11, 23)  # by weekends alone it locks on Thursday 26; the clock says Sunday 29


def _absent_student_per_school(rt) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Return {school upstream id: (an absent student's upstream id, their teacher's)}."""
    out: dict[str, tuple[str, str]] = {}
    with rt.sessions() as s:
        for mark in s.scalars(select(AttendanceMark).where(AttendanceMark.status == "absent")
                              .order_by(AttendanceMark.id)):
            student, taker = s.get(Person, mark.person_id), s.get(Person, mark.marked_by)
            school = s.get(School, student.school_id).upstream_id
            out.setdefault(school, (student.upstream_id, taker.upstream_id))
    return out


def _two_governorates(rt) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Put the two sandbox schools in different governorates; return their upstream ids."""
    with rt.sessions() as s, s.begin():
        first, second = s.scalars(select(School).order_by(School.id)).all()[:2]
        first.governorate, second.governorate = "Giza", "Aswan"
        ups = first.upstream_id, second.upstream_id
    calendar_store.forget()
    return ups


def _request(runner, student: str, teacher: str, day: date):  # type: ignore[no-untyped-def]
    return runner.invoke(cli, ["adjustments", "request", "--student", student, "--day",
                               day.isoformat(), "--to", "present", "--reason", "medical",
                               "--by", teacher])


def test_a_governorate_closure_in_the_window_extends_the_lock_there_only(wb, runner) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [MONDAY], late_share=0.0)
    giza, aswan = _two_governorates(wb)
    out = runner.invoke(cli, ["calendar", "exception", "add", "--scope", "governorate",
                              "--governorate", "Giza", "--day", "2026-11-25",
                              "--reference", "GIZA-2026-77", "--by", "ops:amal",
                              "--reason", "storm closure"])
    assert out.exit_code == 0, out.output
    people = _absent_student_per_school(wb)
    inside = _request(runner, *people[giza], MONDAY)
    assert inside.exit_code == 0, inside.output  # Tue 24, Thu 26, Sun 29: still open today
    assert json.loads(inside.output)["locks_after"] == "2026-11-29"
    elsewhere = _request(runner, *people[aswan], MONDAY)
    assert elsewhere.exit_code != 0 and "Locked" in elsewhere.output
    assert "locked on 2026-11-26" in elsewhere.output


def test_a_feast_in_the_window_extends_the_lock_everywhere(wb, runner) -> None:  # type: ignore[no-untyped-def]
    confirm_days(wb, [MONDAY], late_share=0.0)
    giza, aswan = _two_governorates(wb)
    with wb.sessions() as s, s.begin():
        s.add(CalendarHoliday(day=date(2026, 11, 24), name="Test feast", source="operator"))
    calendar_store.forget()
    people = _absent_student_per_school(wb)
    for school in (giza, aswan):
        out = _request(runner, *people[school], MONDAY)
        assert out.exit_code == 0, out.output
        assert json.loads(out.output)["locks_after"] == "2026-11-29"
