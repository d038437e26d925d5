"""The one place that knows Hudoor's time: Africa/Cairo, a Sunday–Thursday week.

Module functions answer with the national defaults (no database): the school week,
the fixed freeze holidays. Questions about one school on one day — its week, its
governorate's Ramadan hours, central exceptions, confirmed feasts — are answered by a
`core.school_calendar.SchoolCalendar` loaded with `core.calendar_store.current(session)`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

CAIRO = ZoneInfo("Africa/Cairo")
# date.weekday(): Monday is 0 … Sunday is 6. Egyptian schools work Sunday to Thursday.
WORKING_WEEKDAYS = frozenset({6, 0, 1, 2, 3})
# Where the ministry sets it, a school works Saturday to Thursday.
WEEKS: dict[str, frozenset[int]] = {"sun-thu": WORKING_WEEKDAYS, "sat-thu": frozenset({5, 6, 0, 1, 2, 3})}

Clock = Callable[[], datetime]


def _wall() -> datetime:
    return datetime.now(timezone.utc)


def moving_clock(start_iso: str) -> Clock:
    """A clock that starts at start_iso (Cairo when naive) and moves with the wall
    (HUDOOR_FAKE_NOW: demos and tests of school hours on any real day)."""
    start = datetime.fromisoformat(start_iso)
    if start.tzinfo is None:
        start = start.replace(tzinfo=CAIRO)
    offset = start - _wall()
    return lambda: _wall() + offset


def now_cairo(clock: Clock | None = None) -> datetime:
    """Return the current time in Africa/Cairo (DST included); pass the runtime's clock."""
    return (clock or _wall)().astimezone(CAIRO)


def today(clock: Clock | None = None) -> date:
    """Return today's date in Africa/Cairo; pass the runtime's clock."""
    return now_cairo(clock).date()


def is_school_weekday(day: date) -> bool:
    """Tell whether `day` falls in the Sunday–Thursday school week (holidays aside)."""
    return day.weekday() in WORKING_WEEKDAYS


def to_cairo(moment: datetime) -> datetime:
    """Express an aware datetime in Africa/Cairo for display."""
    return moment.astimezone(CAIRO)


def at_cairo(day: date, clock_time: time) -> datetime:
    """Return the aware moment of `clock_time` on `day` in Cairo."""
    return datetime.combine(day, clock_time, tzinfo=CAIRO)


def week_start(day: date) -> date:
    """Return the Sunday that starts `day`'s school week."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


# The release-freeze dates (6 Oct, 7 Jan, 25 Jan): always holidays, whatever the tables say.
HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 7), (1, 25), (10, 6)})


def is_freeze_date(day: date) -> bool:
    """Tell whether `day` is one of the national freeze dates."""
    return (day.month, day.day) in HOLIDAYS


def is_school_day(day: date) -> bool:
    """Tell whether `day` is a school day by the national defaults (no exceptions, no feasts).

    Use `SchoolCalendar.is_school_day` wherever a session is at hand.
    """
    return is_school_weekday(day) and not is_freeze_date(day)


def working_days_after(day: date, n: int) -> date:
    """Return the n-th working day after `day` by the national defaults (n=0: `day` itself)."""
    current, left = day, n
    while left > 0:
        current += timedelta(days=1)
        if is_school_day(current):
            left -= 1
    return current


def in_quiet_hours(moment: datetime, start_hour: int = 21, end_hour: int = 7) -> bool:
    """Tell whether `moment` falls in the parents' quiet hours (Cairo time, wraps midnight).

    Equal start and end hours mean no quiet hours at all (tests, drills).
    """
    if start_hour == end_hour:
        return False
    hour = to_cairo(moment).hour
    return hour >= start_hour or hour < end_hour


def quiet_hours_end(moment: datetime, start_hour: int = 21, end_hour: int = 7) -> datetime:
    """Return when sending may resume: `moment` itself outside quiet hours, else next morning."""
    local = to_cairo(moment)
    if not in_quiet_hours(moment, start_hour, end_hour):
        return moment
    morning = local.replace(hour=end_hour, minute=0, second=0, microsecond=0)
    if local.hour >= start_hour:
        morning = (local + timedelta(days=1)).replace(
            hour=end_hour, minute=0, second=0, microsecond=0)
    return morning.replace(tzinfo=CAIRO)
