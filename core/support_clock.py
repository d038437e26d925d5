"""Support timers on the one calendar: ticket SLAs in working hours, PDPL breach deadlines.

Pure functions of a `SchoolCalendar` and a moment. Working days are the calendar's, with
its terms left out: the desk and the law keep counting through the summer break, but not
through weekends, feasts, the freeze dates or a central closure.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta, timezone

from core import calendar
from core.school_calendar import SchoolCalendar

# Working hours each tier has to act on a ticket before it is overdue (G4).
TIER_SLA_HOURS: dict[int, int] = {0: 4, 1: 8, 2: 16, 3: 24}
# A security ticket is a suspected breach: security answers within the hour, any day.
SECURITY_SLA = timedelta(hours=1)
CENTRE_NOTICE = timedelta(hours=72)  # PDPL (Law 151/2020): notify the Centre within 72 hours
PERSONS_WORKING_DAYS = 3  # … and the persons concerned within 3 working days
_END_OF_DAY = time(23, 59, 59)
_MAX_DAYS = 800  # a calendar with no working day at all must not loop for ever


class NoWorkingTime(ValueError):
    """The calendar has no working time in reach (every day closed)."""


def working_calendar(cal: SchoolCalendar) -> SchoolCalendar:
    """Return `cal` without its terms: working days go on between terms."""
    return dataclasses.replace(cal, terms=())


def is_working_day(cal: SchoolCalendar, day: date, school: int | None = None) -> bool:
    """Tell whether `day` is a working day (weekend, feasts, exceptions; terms ignored)."""
    return working_calendar(cal).is_school_day(day, school)


def add_working_hours(cal: SchoolCalendar, start: datetime, hours: float,
                      school: int | None = None) -> datetime:
    """Return the moment `hours` of working time after `start`.

    Working time is each working day's hours on the calendar (start to cut-off, shorter in
    Ramadan), in Cairo; nights, weekends, feasts and central closures do not count.
    """
    work = working_calendar(cal)
    left = timedelta(hours=hours)
    if left <= timedelta(0):  # no time to add: `start` itself, even at closing time or at night
        return start
    cursor = calendar.to_cairo(start)
    for _ in range(_MAX_DAYS):
        day = cursor.date()
        if work.is_school_day(day, school):
            times = work.times(day, school)
            opens, closes = calendar.at_cairo(day, times.start), calendar.at_cairo(day, times.cutoff)
            begin = max(cursor, opens)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        cursor = calendar.at_cairo(day + timedelta(days=1), time(0, 0))
    raise NoWorkingTime(f"no working time within {_MAX_DAYS} days of {start.isoformat()}")


def ticket_sla_due(cal: SchoolCalendar, now: datetime, tier: int, *, security: bool,
                   school: int | None) -> datetime:
    """Return when a ticket now at `tier` (or with security) is due to be acted on."""
    if security:
        return now.astimezone(timezone.utc) + SECURITY_SLA
    # Tier 0 is the school's champion, who keeps the school's week; the central tiers the
    # national one.
    return add_working_hours(cal, now, TIER_SLA_HOURS[tier], school if tier == 0 else None)


@dataclasses.dataclass(frozen=True)
class BreachDeadlines:
    centre: datetime  # notice to the Personal Data Protection Centre
    persons: datetime  # notice to the persons concerned


def breach_deadlines(cal: SchoolCalendar, opened_at: datetime) -> BreachDeadlines:
    """Return the PDPL deadlines of a breach that came to light at `opened_at`.

    The Centre: 72 clock hours. The persons: the end (Cairo) of the third working day after
    the day it came to light, by the national calendar.
    """
    work = working_calendar(cal)
    day = calendar.to_cairo(opened_at).date()
    last = work.working_days_after(day, PERSONS_WORKING_DAYS)
    # Elapsed hours, counted in UTC: Cairo wall-clock arithmetic would gain or lose the hour
    # summer time moves.
    return BreachDeadlines(opened_at.astimezone(timezone.utc) + CENTRE_NOTICE,
                           calendar.at_cairo(last, _END_OF_DAY))


def time_left(due: datetime, now: datetime) -> str:
    """Say how long is left until `due` ("1d 02h 05m left"), or how long it is overdue."""
    delta = due - now
    overdue = delta < timedelta(0)
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    text = f"{days}d {rest // 60:02d}h {rest % 60:02d}m" if days else f"{rest // 60}h {rest % 60:02d}m"
    return f"OVERDUE by {text}" if overdue else f"{text} left"
