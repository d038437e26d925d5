"""Support timers on the calendar: working hours skip nights, weekends and feasts; the PDPL
clocks run 72 clock hours for the Centre and 3 working days for the persons."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from core import calendar, support_clock
from core.school_calendar import CalendarException, DayTimes, SchoolCalendar, SchoolPlace

NORMAL = DayTimes(time(7, 30), time(15, 30), time(15, 30))
EID = {date(2027, 5, 16): "Eid al-Adha", date(2027, 5, 17): "Eid al-Adha",
       date(2027, 5, 18): "Eid al-Adha"}
TERMS = ((date(2027, 2, 6), date(2027, 6, 10)),)
CAL = SchoolCalendar(NORMAL, holidays=EID, terms=TERMS, schools={7: SchoolPlace("Giza", "sat-thu")})


def cairo(*args: int) -> datetime:
    return datetime(*args, tzinfo=calendar.CAIRO)  # type: ignore[misc]


def test_working_hours_skip_the_night_the_weekend_and_the_feast() -> None:
    # Thursday 13 May 2027, 14:00: 1.5 h left that day; Fri, Sat weekend; Sun-Tue Eid.
    assert support_clock.add_working_hours(CAL, cairo(2027, 5, 13, 14), 4) == cairo(2027, 5, 19, 10)
    # A school that works Saturdays gets its champion's hours on Saturday.
    assert support_clock.add_working_hours(CAL, cairo(2027, 5, 13, 14), 4, 7) == cairo(2027, 5, 15, 10)
    # Opened at night: the clock starts at the next morning's start.
    assert support_clock.add_working_hours(CAL, cairo(2027, 5, 12, 22), 1) == cairo(2027, 5, 13, 8, 30)


def test_no_hours_is_no_time_even_at_closing_time() -> None:
    closing = cairo(2026, 9, 1, 15, 30)  # Hypothesis: adding 8 h then 0 h moved to the morning
    assert support_clock.add_working_hours(CAL, closing, 0) == closing
    assert support_clock.add_working_hours(CAL, cairo(2026, 9, 1, 7, 30), 8) == closing


def test_the_desk_keeps_working_between_terms_but_not_on_a_central_closure() -> None:
    summer = cairo(2027, 7, 1, 9)  # a Thursday after term 2
    assert support_clock.add_working_hours(CAL, summer, 2) == cairo(2027, 7, 1, 11)
    closed = SchoolCalendar(NORMAL, holidays=EID, terms=TERMS, exceptions=(
        CalendarException(1, "national", None, date(2027, 7, 4), False, "DECREE-1"),))
    assert support_clock.add_working_hours(closed, summer, 8) == cairo(2027, 7, 5, 9)


@settings(max_examples=200, deadline=None)
@given(start=st.datetimes(datetime(2026, 9, 1), datetime(2027, 8, 31), timezones=st.just(timezone.utc)),
       a=st.integers(0, 40), b=st.integers(0, 40))
def test_working_hours_add_up_and_land_inside_working_time(start: datetime, a: int, b: int) -> None:
    one = support_clock.add_working_hours(CAL, start, a)
    assert support_clock.add_working_hours(CAL, one, b) == support_clock.add_working_hours(CAL, start, a + b)
    end = support_clock.add_working_hours(CAL, start, a + 1)
    local = calendar.to_cairo(end)
    assert end > start and support_clock.is_working_day(CAL, local.date())
    assert time(7, 30) < local.time() <= time(15, 30)


def test_breach_deadlines_skip_weekend_and_feast_for_the_persons_only() -> None:
    due = support_clock.breach_deadlines(CAL, cairo(2027, 5, 13, 14))
    assert due.centre == cairo(2027, 5, 16, 14)  # 72 clock hours, Eid or not
    assert due.persons == cairo(2027, 5, 23, 23, 59, 59)  # Wed 19, Thu 20, Sun 23


def test_the_centre_clock_is_72_elapsed_hours_across_the_end_of_summer_time() -> None:
    # Egypt's clocks go back at midnight between Thursday 29 and Friday 30 October 2026.
    opened = cairo(2026, 10, 29, 20)
    due = support_clock.breach_deadlines(CAL, opened)
    assert due.centre.astimezone(timezone.utc) - opened.astimezone(timezone.utc) == timedelta(hours=72)
    assert calendar.to_cairo(due.centre).hour == 19  # wall clock shows an hour less
    assert due.persons.date() == date(2026, 11, 3)  # Sun 1, Mon 2, Tue 3 November


def test_time_left_reads_plainly() -> None:
    now = cairo(2027, 5, 13, 14)
    assert support_clock.time_left(now + timedelta(hours=3, minutes=5), now) == "3h 05m left"
    assert support_clock.time_left(now + timedelta(days=2, hours=1), now) == "2d 01h 00m left"
    assert support_clock.time_left(now - timedelta(minutes=90), now) == "OVERDUE by 1h 30m"
