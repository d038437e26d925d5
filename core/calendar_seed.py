"""Seed rows for the calendar tables: feasts from the `holidays` package, terms, Ramadan hours.

Islamic dates in the package are estimates (they follow the moon sighting); they are
stored with `estimated=True` until an operator confirms or moves them (audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

import holidays
from hijridate import Hijri

# Names the `holidays` package gives movable Islamic feasts (lunar: estimates until sighted).
_ISLAMIC = ("eid", "islamic", "prophet", "arafat", "hijri", "ramadan")
FREEZE = (((10, 6), "Armed Forces Day"), ((1, 7), "Coptic Christmas"), ((1, 25), "Revolution Day"))
# The pilot's academic year (the mission: pilot 1 Sep – 30 Nov, Phase 2 from 10 Jan).
TERMS = (("2026/27 term 1", date(2026, 9, 1), date(2027, 1, 21)),
         ("2026/27 term 2", date(2027, 2, 6), date(2027, 6, 10)))
# Shortened-day hours for every governorate without its own rule (HH:MM, Cairo).
RAMADAN_HOURS = ("09:00", "12:30", "13:00")


@dataclass(frozen=True)
class HolidaySeed:
    day: date
    name: str
    source: str
    estimated: bool


def holidays_for(year: int) -> list[HolidaySeed]:
    """Return Egypt's public holidays of `year` plus the freeze dates."""
    out = {(d, name): HolidaySeed(d, name[:100], "holidays-package",
                                  "estimated" in name.lower()
                                  or any(w in name.lower() for w in _ISLAMIC))
           for d, name in sorted(holidays.country_holidays("EG", years=year).items())}
    for (month, day), name in FREEZE:
        d = date(year, month, day)
        if not any(k[0] == d for k in out):
            out[(d, name)] = HolidaySeed(d, name, "freeze", False)
    return sorted(out.values(), key=lambda h: (h.day, h.name))


def ramadan(hijri_year: int) -> tuple[date, date]:
    """Return the first and last Gregorian day of Ramadan in `hijri_year` (tabular estimate)."""
    first = Hijri(hijri_year, 9, 1).to_gregorian()
    after = Hijri(hijri_year, 10, 1).to_gregorian()
    return date(first.year, first.month, first.day), \
        date(after.year, after.month, after.day) - timedelta(days=1)


# The gate's thresholds (G1, R9): the same for every school; changed only by a reviewed migration.
GATE_RULES = (
    ("parity_threshold", 0.98, "a week counts when digital matches paper on at least this share"),
    ("consecutive_weeks", 4, "counting weeks in a row that fire the gate"),
    ("max_excluded_share", 0.10, "a week with more student-days excluded as anomalies does not count"),
    ("min_student_days", 20, "a week with fewer eligible student-days is neutral (holidays)"),
    ("new_school_window_days", 20, "working days of a new school's paper + digital window (R9)"),
    ("burst_seconds", 30, "one phone's class confirmations closer than this form a burst"),
    ("burst_min_classes", 3, "a burst of at least this many classes from one phone is copied"),
    ("late_capture_hours", 3, "confirmed more than this long after the day's cut-off is copied"),
    ("flat_week_seconds", 60, "a class confirmed at the same time of day (spread below this) ..."),
    ("flat_week_min_days", 4, "... on at least this many days of a week is copied"),
    ("after_paper", 1, "1: digital captured after the paper upload of that class-day is copied"),
)


@cache
def seed_rows() -> dict[str, list[dict[str, Any]]]:
    """Return the rows the calendar and gate tables start with (migration 0011, test resets)."""
    first, last = ramadan(1448)  # about 8 Feb – 9 Mar 2027
    start, cutoff, digest = RAMADAN_HOURS
    return {
        "calendar_holidays": [{"day": h.day, "name": h.name, "source": h.source,
                               "estimated": h.estimated}
                              for year in (2026, 2027, 2028) for h in holidays_for(year)],
        "calendar_terms": [{"name": n, "starts_on": a, "ends_on": b} for n, a, b in TERMS],
        "calendar_ramadan_rules": [{"governorate": "*", "starts_on": first, "ends_on": last,
                                    "school_start": start, "cutoff": cutoff, "digest_at": digest}],
        "gate_rules": [{"name": n, "value": float(v), "description": d} for n, v, d in GATE_RULES],
    }
