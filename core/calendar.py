"""The one place that knows Hudoor's time: Africa/Cairo, a Sunday–Thursday week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

CAIRO = ZoneInfo("Africa/Cairo")
# date.weekday(): Monday is 0 … Sunday is 6. Egyptian schools work Sunday to Thursday.
WORKING_WEEKDAYS = frozenset({6, 0, 1, 2, 3})


def now_cairo() -> datetime:
    """Return the current time in Africa/Cairo (DST included)."""
    return datetime.now(CAIRO)


def today() -> date:
    """Return today's date in Africa/Cairo."""
    return now_cairo().date()


def is_school_weekday(day: date) -> bool:
    """Tell whether `day` falls in the Sunday–Thursday school week (holidays aside)."""
    return day.weekday() in WORKING_WEEKDAYS


def to_cairo(moment: datetime) -> datetime:
    """Express an aware datetime in Africa/Cairo for display."""
    return moment.astimezone(CAIRO)


# Public holidays with no school (G2): fixed-date ones here; add movable feasts per year.
HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 7), (1, 25), (10, 6)})


def is_school_day(day: date) -> bool:
    """Tell whether `day` is a school day: Sunday–Thursday and not a holiday."""
    return is_school_weekday(day) and (day.month, day.day) not in HOLIDAYS


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


def working_days_after(day: date, n: int) -> date:
    """Return the n-th school day after `day` (weekends and holidays don't count).

    The one working-day arithmetic the adjustment window uses; a fuller holiday calendar
    can replace this function without touching its callers.
    """
    d, left = day, n
    while left > 0:
        d += timedelta(days=1)
        if is_school_day(d):
            left -= 1
    return d
