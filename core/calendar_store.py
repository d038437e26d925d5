"""Load the calendar from its tables; central, audited changes to it (never per school)."""

from __future__ import annotations

import threading
import time as _time
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, calendar_seed
from core.config import Config
from core.models import (
    CalendarExceptionRow,
    CalendarHoliday,
    CalendarTerm,
    RamadanRuleRow,
    School,
    SchoolCalendarRow,
    utcnow,
)
from core.school_calendar import (
    NATIONAL,
    CalendarException,
    DayTimes,
    RamadanRule,
    SchoolCalendar,
    SchoolPlace,
)
from core import calendar

SCOPES = ("national", "governorate")
CACHE_SECONDS = 60.0  # another process's change is seen within a minute; this one's at once
_cache: dict[str, tuple[float, SchoolCalendar]] = {}
_lock = threading.Lock()


class CalendarError(ValueError):
    """A calendar change was refused (the message says why)."""


def _hhmm(raw: str) -> time:
    hour, minute = (int(x) for x in raw.split(":"))
    return time(hour, minute)


def normal_times(config: Config) -> DayTimes:
    """Return an ordinary school day's hours from the settings."""
    cut = config.digest_cutoff_time
    return DayTimes(_hhmm(config.school_start), cut, cut)


def load(session: Session, config: Config) -> SchoolCalendar:
    """Read the calendar tables into one pure SchoolCalendar."""
    holidays = {d: n for d, n in session.execute(select(CalendarHoliday.day, CalendarHoliday.name))}
    terms = tuple((a, b) for a, b in session.execute(select(CalendarTerm.starts_on, CalendarTerm.ends_on)))
    exceptions = tuple(CalendarException(r.id, r.scope, r.governorate, r.day, r.open, r.reference)
                       for r in session.scalars(select(CalendarExceptionRow).where(
                           CalendarExceptionRow.reversed_at.is_(None))))
    ramadan = tuple(RamadanRule(r.governorate, r.starts_on, r.ends_on, DayTimes(
        _hhmm(r.school_start), _hhmm(r.cutoff), _hhmm(r.digest_at), True))
        for r in session.scalars(select(RamadanRuleRow)))
    rows = session.execute(select(School.id, School.governorate, SchoolCalendarRow.week,
                                  SchoolCalendarRow.joined_on)
                           .outerjoin(SchoolCalendarRow, SchoolCalendarRow.school_id == School.id))
    schools = {sid: SchoolPlace(gov, week or "sun-thu", joined) for sid, gov, week, joined in rows}
    return SchoolCalendar(normal_times(config), holidays, terms, exceptions, ramadan, schools,
                          (config.quiet_start_hour, config.quiet_end_hour))


def current(session: Session, config: Config) -> SchoolCalendar:
    """Return the calendar, re-read at most every CACHE_SECONDS (USSD asks on every hop)."""
    key = f"{config.effective_database_url}|{config.digest_cutoff}|{config.school_start}|" \
          f"{config.quiet_start_hour}|{config.quiet_end_hour}"
    with _lock:
        hit = _cache.get(key)
        if hit and _time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    found = load(session, config)
    with _lock:
        _cache[key] = (_time.monotonic(), found)
    return found


def forget() -> None:
    """Drop the cached calendars (after a change, and between tests)."""
    with _lock:
        _cache.clear()


def seed_year(session: Session, year: int, *, actor: str) -> int:
    """Add `year`'s holidays from the `holidays` package (existing rows kept); return how many."""
    have = {(d, n) for d, n in session.execute(select(CalendarHoliday.day, CalendarHoliday.name))}
    added = [h for h in calendar_seed.holidays_for(year) if (h.day, h.name) not in have]
    session.add_all(CalendarHoliday(day=h.day, name=h.name, source=h.source, estimated=h.estimated)
                    for h in added)
    audit.record(session, actor=actor, action="calendar.seed", entity="calendar_holidays",
                 entity_id=str(year), reason="seeded from the holidays package",
                 data={"added": [(h.day.isoformat(), h.name) for h in added]})
    forget()
    return len(added)


def add_exception(session: Session, *, scope: str, governorate: str | None, days: list[date],
                  open_day: bool, reference: str, by: str, reason: str) -> list[int]:
    """Record a central exception for each day (audited); return the new ids."""
    if scope not in SCOPES:
        raise CalendarError(f"scope must be one of {', '.join(SCOPES)}; there is no per-school exception")
    if scope == "governorate" and not governorate:
        raise CalendarError("a governorate exception needs --governorate")
    if scope == "national" and governorate:
        raise CalendarError("a national exception names no governorate")
    if scope == "governorate" and governorate not in set(
            session.scalars(select(School.governorate).distinct())):
        raise CalendarError(f"no school is in governorate {governorate!r}")
    if not (reference.strip() and by.strip() and reason.strip()):
        raise CalendarError("--reference, --by and --reason are all required")
    rows = [CalendarExceptionRow(scope=scope, governorate=governorate, day=d, open=open_day,
                                 reference=reference, created_by=by, reason=reason) for d in days]
    session.add_all(rows)
    session.flush()
    for row in rows:
        audit.record(session, actor=by, action="calendar.exception.add", entity="calendar_exception",
                     entity_id=row.id, reason=reason,
                     data={"scope": scope, "governorate": governorate, "day": row.day.isoformat(),
                           "open": open_day, "reference": reference})
    forget()
    return [r.id for r in rows]


def reverse_exception(session: Session, exception_id: int, *, by: str, reason: str,
                      now: datetime | None = None) -> None:
    """Reverse a central exception (kept, marked reversed; audited)."""
    row = session.get(CalendarExceptionRow, exception_id)
    if row is None:
        raise CalendarError(f"no exception {exception_id}")
    if row.reversed_at is not None:
        raise CalendarError(f"exception {exception_id} is already reversed")
    if not (by.strip() and reason.strip()):
        raise CalendarError("--by and --reason are required")
    row.reversed_at, row.reversed_by = now or utcnow(), by
    audit.record(session, actor=by, action="calendar.exception.reverse", entity="calendar_exception",
                 entity_id=row.id, reason=reason, data={"reference": row.reference,
                                                        "day": row.day.isoformat()})
    forget()


def set_school(session: Session, school_upstream_id: str, *, week: str | None,
               joined_on: date | None, by: str, reason: str) -> None:
    """Set a school's week pattern and/or join date (central, audited)."""
    school = session.scalars(select(School).where(School.upstream_id == school_upstream_id)).first()
    if school is None:
        raise CalendarError(f"no school {school_upstream_id!r}")
    if week is not None and week not in calendar.WEEKS:
        raise CalendarError(f"week must be one of {', '.join(calendar.WEEKS)}")
    row = session.get(SchoolCalendarRow, school.id)
    before = {"week": row.week, "joined_on": row.joined_on.isoformat() if row and row.joined_on
              else None} if row else None
    if row is None:
        row = SchoolCalendarRow(school_id=school.id, week="sun-thu", set_by=by)
        session.add(row)
    row.week = week or row.week
    row.joined_on = joined_on or row.joined_on
    row.set_by, row.set_at = by, utcnow()
    audit.record(session, actor=by, action="calendar.school.set", entity="school",
                 entity_id=school_upstream_id, reason=reason,
                 data={"before": before, "week": row.week,
                       "joined_on": row.joined_on.isoformat() if row.joined_on else None})
    forget()


def confirm_holiday(session: Session, day: date, *, moved_to: date | None, by: str,
                    reason: str) -> int:
    """Confirm (or move, after the sighting) the estimated feasts on `day`; audited."""
    rows = list(session.scalars(select(CalendarHoliday).where(CalendarHoliday.day == day)))
    if not rows:
        raise CalendarError(f"no holiday on {day.isoformat()}")
    if not (by.strip() and reason.strip()):
        raise CalendarError("--by and --reason are required")
    for row in rows:
        before = row.day
        row.day = moved_to or row.day
        row.estimated, row.confirmed_by, row.confirmed_at = False, by, utcnow()
        audit.record(session, actor=by, action="calendar.holiday.confirm", entity="calendar_holiday",
                     entity_id=row.id, reason=reason,
                     data={"name": row.name, "was": before.isoformat(), "now": row.day.isoformat()})
    forget()
    return len(rows)


def school_id(session: Session, upstream_id: str) -> int | None:
    """Return a school's row id from its upstream id."""
    return session.scalar(select(School.id).where(School.upstream_id == upstream_id))


__all__ = ["NATIONAL", "CalendarError", "current", "load", "add_exception", "reverse_exception",
           "seed_year", "set_school", "confirm_holiday", "forget", "school_id"]
