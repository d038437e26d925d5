"""The anomaly engine: timestamp telemetry that marks batch-copied class-days (pure functions).

Each rule takes every class-day of one school-week and returns the class-days it flags.
Flagged class-days are excluded from parity; a week with too many exclusions does not count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable

from core import calendar
from core.gate.rules import Rules

ClassDay = tuple[int, date]


@dataclass(frozen=True)
class Capture:
    """How one class-day's digital register was captured."""

    class_id: int
    day: date
    phone: str  # the confirming phone (as stored on the record)
    confirmed_at: datetime
    last_capture: datetime  # the latest confirmation or mark of the class-day
    cutoff_at: datetime  # the day's cut-off for the school (calendar: Ramadan hours too)
    paper_at: datetime | None = None  # when the paper register of the class-day was uploaded

    @property
    def key(self) -> ClassDay:
        return (self.class_id, self.day)


def burst(captures: Iterable[Capture], rules: Rules) -> set[ClassDay]:
    """Flag runs of classes confirmed from one phone seconds apart (typed in from paper)."""
    flagged: set[ClassDay] = set()
    by_phone: dict[tuple[str, date], list[Capture]] = defaultdict(list)
    for c in captures:
        by_phone[(c.phone, c.day)].append(c)
    gap = timedelta(seconds=rules.burst_seconds)
    for group in by_phone.values():
        group.sort(key=lambda c: c.confirmed_at)
        run = [group[0]]
        for prev, cur in zip(group, group[1:]):
            if cur.confirmed_at - prev.confirmed_at <= gap:
                run.append(cur)
                continue
            if len(run) >= rules.burst_min_classes:
                flagged.update(c.key for c in run)
            run = [cur]
        if len(run) >= rules.burst_min_classes:
            flagged.update(c.key for c in run)
    return flagged


def late_capture(captures: Iterable[Capture], rules: Rules) -> set[ClassDay]:
    """Flag class-days captured long after the school day's cut-off."""
    slack = timedelta(hours=rules.late_capture_hours)
    return {c.key for c in captures if c.last_capture > c.cutoff_at + slack}


def _seconds_of_day(moment: datetime) -> int:
    local = calendar.to_cairo(moment)
    return local.hour * 3600 + local.minute * 60 + local.second


def flat_week(captures: Iterable[Capture], rules: Rules) -> set[ClassDay]:
    """Flag a class confirmed at the same time of day all week (no intraday variance)."""
    by_class: dict[int, list[Capture]] = defaultdict(list)
    for c in captures:
        by_class[c.class_id].append(c)
    flagged: set[ClassDay] = set()
    for group in by_class.values():
        if len(group) < rules.flat_week_min_days:
            continue
        times = [_seconds_of_day(c.confirmed_at) for c in group]
        if max(times) - min(times) < rules.flat_week_seconds:
            flagged.update(c.key for c in group)
    return flagged


def after_paper(captures: Iterable[Capture], rules: Rules) -> set[ClassDay]:
    """Flag digital registers captured after that class-day's paper was uploaded (copied)."""
    if not rules.after_paper:
        return set()
    return {c.key for c in captures if c.paper_at is not None and c.last_capture > c.paper_at}


RULES: dict[str, Callable[[Iterable[Capture], Rules], set[ClassDay]]] = {
    "burst": burst, "late_capture": late_capture, "flat_week": flat_week, "after_paper": after_paper,
}


def flag(captures: list[Capture], rules: Rules) -> dict[str, set[ClassDay]]:
    """Return each rule's flagged class-days for one school-week."""
    return {name: rule(captures, rules) for name, rule in RULES.items()}
