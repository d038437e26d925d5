"""One school's calendar, as a pure value: school days, cut-offs, digest times, quiet hours.

Built by `core.calendar_store.current(session)` from the calendar tables; everything that
asks "is this a school day / when is the cut-off / is this a working day" asks this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from core import calendar

NATIONAL = "*"  # the governorate of a rule that holds everywhere


@dataclass(frozen=True)
class DayTimes:
    """A school day's hours (Cairo): start, late-arrival cut-off, digest time."""

    start: time
    cutoff: time
    digest_at: time
    ramadan: bool = False


@dataclass(frozen=True)
class RamadanRule:
    """Shortened-day hours for one governorate ("*": every governorate without its own)."""

    governorate: str
    starts_on: date
    ends_on: date
    times: DayTimes


@dataclass(frozen=True)
class CalendarException:
    """A central decision about one day: schools closed, or open (a make-up day)."""

    id: int
    scope: str  # "national" | "governorate"
    governorate: str | None
    day: date
    open: bool
    reference: str


@dataclass(frozen=True)
class SchoolPlace:
    """Where a school sits in the calendar: governorate, week, date it joined (R9)."""

    governorate: str
    week: str = "sun-thu"
    joined_on: date | None = None


@dataclass(frozen=True)
class DayStatus:
    """What the calendar says about one day for one school."""

    day: date
    school_day: bool
    reason: str
    times: DayTimes | None


@dataclass(frozen=True)
class SchoolCalendar:
    """Holidays, terms, central exceptions, Ramadan rules and school weeks, queried purely."""

    normal: DayTimes
    holidays: Mapping[date, str] = field(default_factory=dict)
    terms: tuple[tuple[date, date], ...] = ()
    exceptions: tuple[CalendarException, ...] = ()
    ramadan: tuple[RamadanRule, ...] = ()
    schools: Mapping[int, SchoolPlace] = field(default_factory=dict)
    quiet: tuple[int, int] = (21, 7)

    def place(self, school: int | None) -> SchoolPlace:
        """Return a school's place; unknown schools (and None) get the national defaults."""
        return self.schools.get(school, SchoolPlace(NATIONAL)) if school is not None \
            else SchoolPlace(NATIONAL)

    def _exception(self, day: date, governorate: str) -> CalendarException | None:
        found = [e for e in self.exceptions if e.day == day and (
            e.scope == "national" or e.governorate == governorate)]
        # A governorate's decision beats the national one; among equals the latest wins.
        found.sort(key=lambda e: (e.scope == "governorate", e.id))
        return found[-1] if found else None

    def status(self, day: date, school: int | None = None) -> DayStatus:
        """Return whether `day` is a school day for `school`, why, and its hours."""
        place = self.place(school)
        exc = self._exception(day, place.governorate)
        if exc is not None:
            reason = f"{'open' if exc.open else 'closed'} by exception {exc.reference}"
            return DayStatus(day, exc.open, reason, self.times(day, school) if exc.open else None)
        if calendar.is_freeze_date(day):
            return DayStatus(day, False, self.holidays.get(day, "national holiday"), None)
        if day in self.holidays:
            return DayStatus(day, False, self.holidays[day], None)
        if day.weekday() not in calendar.WEEKS.get(place.week, calendar.WORKING_WEEKDAYS):
            return DayStatus(day, False, "weekend", None)
        if self.terms and not any(a <= day <= b for a, b in self.terms):
            return DayStatus(day, False, "outside term", None)
        times = self.times(day, school)
        return DayStatus(day, True, "ramadan hours" if times.ramadan else "school day", times)

    def is_school_day(self, day: date, school: int | None = None) -> bool:
        """Tell whether `day` is a school (and working) day for `school`."""
        return self.status(day, school).school_day

    def times(self, day: date, school: int | None = None) -> DayTimes:
        """Return the day's hours: the governorate's Ramadan rule if one holds, else normal."""
        gov = self.place(school).governorate
        rules = [r for r in self.ramadan if r.starts_on <= day <= r.ends_on
                 and r.governorate in (gov, NATIONAL)]
        rules.sort(key=lambda r: r.governorate != NATIONAL)
        return rules[-1].times if rules else self.normal

    def cutoff_at(self, day: date, school: int | None = None) -> datetime:
        """Return the moment late arrivals stop being marked on `day`."""
        return calendar.at_cairo(day, self.times(day, school).cutoff)

    def digest_at(self, day: date, school: int | None = None) -> datetime:
        """Return the moment the day's digests may go."""
        return calendar.at_cairo(day, self.times(day, school).digest_at)

    def open_schools(self, day: date) -> set[int]:
        """Return the schools that hold school on `day`."""
        return {s for s in self.schools if self.is_school_day(day, s)}

    def any_school_day(self, day: date) -> bool:
        """Tell whether any school (or the national default) holds school on `day`."""
        return self.is_school_day(day) or bool(self.open_schools(day))

    def latest_digest_at(self, day: date) -> datetime:
        """Return the latest digest time of `day` across the schools (national default too)."""
        moments = [self.digest_at(day, None)] + [self.digest_at(day, s) for s in self.schools]
        return max(moments)

    def late_allowed(self, now: datetime, school: int | None = None) -> bool:
        """Tell whether late arrivals may still be marked (a school day, before its cut-off)."""
        day = calendar.to_cairo(now).date()
        return self.is_school_day(day, school) and now < self.cutoff_at(day, school)

    def working_days_after(self, day: date, n: int, school: int | None = None) -> date:
        """Return the n-th working day after `day` (n=0: `day` itself)."""
        current, left = day, n
        while left > 0:
            current += timedelta(days=1)
            if self.is_school_day(current, school):
                left -= 1
        return current

    def days(self, school: int | None, start: date, end: date) -> list[DayStatus]:
        """Return each day from start to end inclusive."""
        return [self.status(start + timedelta(days=i), school)
                for i in range((end - start).days + 1)]

    def in_quiet_hours(self, moment: datetime) -> bool:
        """Tell whether `moment` is in the parents' quiet hours."""
        return calendar.in_quiet_hours(moment, *self.quiet)

    def quiet_hours_end(self, moment: datetime) -> datetime:
        """Return `moment`, or the end of the quiet hours it falls in."""
        return calendar.quiet_hours_end(moment, *self.quiet)
