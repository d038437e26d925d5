"""The one place that knows Hudoor's time: Africa/Cairo, a Sunday–Thursday week."""

from __future__ import annotations

from datetime import date, datetime
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
