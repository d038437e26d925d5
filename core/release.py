"""Release windows: when a deploy may start, and the staged 5% → 25% → 100% plan.

Pure functions over the one calendar (`SchoolCalendar`) and a moment the caller's clock
gives. A deploy may start only on a weekend day (Cairo; Friday, Saturday) that is a school
day for no school at all — a Saturday that Sat–Thu schools work is not a window — outside
every school's hours, never on a freeze date (6 Oct, 7 Jan, 25 Jan), and, for a feature,
never in December (stability only; a fix may go). The stages and the health thresholds each
must hold are data: core/release_stages.toml (docs/decisions/0027).
"""

from __future__ import annotations

import enum
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from core import calendar, wall
from core.school_calendar import SchoolCalendar

RULES_FILE = Path(__file__).with_name("release_stages.toml")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # date.weekday() order
HORIZON_DAYS = 400  # how far ahead a window or a hold is looked for
OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b}


class ReleaseKind(str, enum.Enum):
    """What a deploy carries: a feature (kept out of December) or a fix."""

    FEATURE = "feature"
    FIX = "fix"


class RulesError(ValueError):
    """The release rules file is malformed (the message says where)."""


@dataclass(frozen=True)
class Threshold:
    """A health figure a stage must hold, e.g. sms_delivered_ratio >= 0.97."""

    metric: str
    op: str
    value: float
    means: str

    def holds(self, observed: float) -> bool:
        """Tell whether an observed figure meets the threshold."""
        return bool(OPS[self.op](observed, self.value))

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Stage:
    """One rollout stage: the share of schools, and how long its thresholds must hold."""

    percent: int
    hold_school_days: int
    thresholds: tuple[Threshold, ...]


@dataclass(frozen=True)
class Rules:
    """The release rules: deploy days, the Phase 2 start, the stages in order."""

    weekend: frozenset[int]
    phase2_starts: date
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class Window:
    """A stretch of Cairo time in which a deploy may start: [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Verdict:
    """Whether a deploy may start at a moment: the reasons against, or the window's end."""

    moment: datetime
    reasons: tuple[str, ...]
    window: Window | None

    @property
    def allowed(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class StagePlan:
    """A stage placed on the calendar: its window, and when its hold ends (None: not found)."""

    stage: Stage
    window: Window | None
    hold_ends: datetime | None


def _threshold(t: dict[str, object], levels: dict[str, dict[str, object]]) -> Threshold:
    """A stage threshold: its own number, or a figure of the wall's file by level.

    `wall = "sms_delivery_ratio", level = "amber"` holds while the wall shows that figure
    green: the number lives in core/wall_thresholds.json, the one place for health thresholds.
    """
    means = str(t.get("means", ""))
    if "wall" in t:
        value, lower = wall.limit(levels, str(t["wall"]), str(t["level"]))  # type: ignore[arg-type]
        return Threshold(str(t["wall"]), ">=" if lower else "<", value, means)
    return Threshold(str(t["metric"]), str(t["op"]), float(t["value"]), means)  # type: ignore[arg-type]


def load_rules(path: Path = RULES_FILE, thresholds_file: str = str(wall.DEFAULT)) -> Rules:
    """Read the release rules file; raise RulesError on anything malformed."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        weekend = frozenset(DAY_NAMES.index(d) for d in raw["programme"]["weekend"])
        phase2 = raw["programme"]["phase2_starts"]
        levels = wall.thresholds(thresholds_file)
        stages = tuple(Stage(int(s["percent"]), int(s["hold_school_days"]), tuple(
            _threshold(t, levels) for t in s.get("threshold", []))) for s in raw["stage"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
        raise RulesError(f"{path.name}: {exc}") from exc
    if not isinstance(phase2, date) or not weekend:
        raise RulesError(f"{path.name}: programme needs a phase2_starts date and weekend days")
    percents = [s.percent for s in stages]
    if not percents or percents != sorted(set(percents)) or percents[-1] != 100:
        raise RulesError(f"{path.name}: stages must rise strictly and end at 100%, not {percents}")
    for stage in stages:
        bad = [t for t in stage.thresholds if t.op not in OPS]
        if bad or stage.hold_school_days < 0:
            raise RulesError(f"{path.name}: stage {stage.percent}%: ops are >= or <=, holds ≥ 0")
    return Rules(weekend, phase2, stages)


def _places(cal: SchoolCalendar) -> dict[tuple[str, str], list[int]]:
    """Group the schools by what their calendar depends on: governorate and week."""
    found: dict[tuple[str, str], list[int]] = {}
    for sid, place in cal.schools.items():
        found.setdefault((place.governorate, place.week), []).append(sid)
    return found


def _open(cal: SchoolCalendar, day: date) -> list[tuple[tuple[str, str], int | None, int]]:
    """Return (place, a school there, how many schools) for every place holding school on `day`."""
    found = [(place, sids[0], len(sids)) for place, sids in sorted(_places(cal).items())
             if cal.is_school_day(day, sids[0])]
    if not cal.schools and cal.is_school_day(day):  # no school known yet: the national days
        found.append((("the national calendar", "sun-thu"), None, 0))
    return found


def day_reasons(cal: SchoolCalendar, day: date, kind: ReleaseKind, rules: Rules, *,
                every: bool = False) -> list[str]:
    """Return why no deploy may start on `day` at all (empty: the day is a window).

    Without `every`, the schools are asked only when nothing cheaper already closes the day.
    """
    reasons = []
    if day.weekday() not in rules.weekend:
        days = ", ".join(DAY_NAMES[d] for d in sorted(rules.weekend, key=lambda d: (d + 3) % 7))
        reasons.append(f"{day:%A} is not a release day (weekend only: {days})")
    if calendar.is_freeze_date(day):
        reasons.append(f"freeze: {day.day} {day:%b} is a release-freeze date")
    if kind is ReleaseKind.FEATURE and day.month == 12:
        reasons.append("December: stability only, no feature launches (a fix may go)")
    if every or not reasons:  # the costlier question, by default only for an open day
        for (gov, week), _sid, n in _open(cal, day):
            who = f"{n} school(s) in {gov} ({week} week)" if n else gov
            reasons.append(f"school day: {day:%a %-d %b} is a school day for {who}")
    return reasons


def _hours_reasons(cal: SchoolCalendar, local: datetime) -> list[str]:
    """Return the school hours `local` (Cairo) falls in, one reason per kind of school."""
    reasons = []
    for (gov, week), sid, n in _open(cal, local.date()):
        times = cal.times(local.date(), sid)
        if times.start <= local.time() < times.digest_at:
            who = f"{n} school(s) in {gov} ({week} week)" if n else gov
            reasons.append(f"school hours: {local:%H:%M} is inside {times.start:%H:%M}–"
                           f"{times.digest_at:%H:%M} for {who}")
    return reasons


def _midnight(day: date) -> datetime:
    return calendar.at_cairo(day, time(0, 0))


def _window_from(cal: SchoolCalendar, start: datetime, kind: ReleaseKind, rules: Rules) -> Window:
    """Return the window starting at `start` (an allowed day): it runs to the next closed day."""
    day = calendar.to_cairo(start).date() + timedelta(days=1)
    while not day_reasons(cal, day, kind, rules) and day - start.date() < timedelta(days=8):
        day += timedelta(days=1)
    return Window(start, _midnight(day))


def check(cal: SchoolCalendar, moment: datetime, kind: ReleaseKind, rules: Rules) -> Verdict:
    """Tell whether a deploy of `kind` may start at `moment`; say why not, or until when."""
    local = calendar.to_cairo(moment)
    reasons = day_reasons(cal, local.date(), kind, rules, every=True) + _hours_reasons(cal, local)
    if reasons:
        return Verdict(local, tuple(reasons), None)
    return Verdict(local, (), _window_from(cal, local, kind, rules))


def next_window(cal: SchoolCalendar, after: datetime, kind: ReleaseKind,
                rules: Rules) -> Window | None:
    """Return the first window at or after `after` (None within HORIZON_DAYS)."""
    local = calendar.to_cairo(after)
    if check(cal, local, kind, rules).allowed:
        return _window_from(cal, local, kind, rules)
    for offset in range(1, HORIZON_DAYS):
        day = local.date() + timedelta(days=offset)
        if not day_reasons(cal, day, kind, rules):
            return _window_from(cal, _midnight(day), kind, rules)
    return None


def hold_end(cal: SchoolCalendar, start: datetime, school_days: int) -> datetime | None:
    """Return the midnight after the `school_days`-th school day after `start` (None: none)."""
    day, left = calendar.to_cairo(start).date(), school_days
    for _ in range(HORIZON_DAYS):
        if left == 0:
            return _midnight(day + timedelta(days=1)) if school_days else start
        day += timedelta(days=1)
        if cal.any_school_day(day):
            left -= 1
    return None


def plan(cal: SchoolCalendar, start: datetime, kind: ReleaseKind, rules: Rules) -> list[StagePlan]:
    """Place each stage in the first window after the previous stage's hold has ended."""
    placed: list[StagePlan] = []
    earliest: datetime | None = start
    for stage in rules.stages:
        window = next_window(cal, earliest, kind, rules) if earliest else None
        earliest = hold_end(cal, window.start, stage.hold_school_days) if window else None
        placed.append(StagePlan(stage, window, earliest))
    return placed
