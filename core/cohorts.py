"""Features switched per school in stages (G3): a stable hash puts each school in 5 → 25 → 100 %.

A school is in a stage when its bucket — sha256 of "feature:school upstream id", mod 10 000 —
is below percent × 100. The bucket never changes, so a school in the 5 % stays in at 25 %,
and every process on every machine agrees. The stage lives in SQL (`feature_stages`, with
its history); it advances only after the health figures stayed within the thresholds
(core/cohort_rules.toml) for the set time, measured by the samples the scheduled job records
(`record_samples`); a sample out of bounds holds the feature, and advance refuses while held.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, calendar, wall
from core.models import FeatureStage, FeatureStageChange, HealthSample

RULES_FILE = Path(__file__).with_name("cohort_rules.toml")
BUCKETS = 10_000
HEALTH_ACTOR = "job:cohort_health"
# Figure name → threshold name; a figure above its threshold is a breach. None: no data.
FIGURES = ("ussd_error_rate", "ussd_hop_p99_ms", "sms_dlq", "writeback_dlq", "writeback_lag_seconds")


class CohortError(ValueError):
    """A stage change the rules refuse (held, not healthy long enough, unknown feature)."""


@dataclass(frozen=True)
class Rules:
    stages: tuple[int, ...]
    min_hours: float
    max_gap: timedelta
    thresholds: dict[str, float]  # figure → the wall's number it refers to (a breach at or past it)
    starts: dict[str, date]  # feature → first day (Cairo) it exists at all
    features: tuple[str, ...] = ()  # the features that may be staged (a typo is not a feature)
    lower: frozenset[str] = frozenset()  # figures where lower is worse (none today)

    def start_of(self, feature: str) -> datetime | None:
        day = self.starts.get(feature)
        return datetime.combine(day, time(0), tzinfo=calendar.CAIRO) if day else None


@lru_cache(maxsize=4)
def rules(path: Path = RULES_FILE, thresholds_file: str = str(wall.DEFAULT)) -> Rules:
    """Read the stages, dated starts and which wall thresholds apply (data, not code)."""
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    health = raw["health"]
    levels = wall.thresholds(thresholds_file)
    limits = {k: wall.limit(levels, health["limits"][k]["wall"], health["limits"][k]["level"])
              for k in FIGURES}
    return Rules(stages=tuple(raw["stages"]), min_hours=float(health["min_hours"]),
                 max_gap=timedelta(minutes=float(health["max_gap_minutes"])),
                 thresholds={k: value for k, (value, _lower) in limits.items()},
                 lower=frozenset(k for k, (_value, lower) in limits.items() if lower),
                 starts={name: date.fromisoformat(f["starts"])
                         for name, f in raw.get("features", {}).items() if "starts" in f},
                 features=tuple(sorted(raw.get("features", {}))))


def bucket(feature: str, school_uid: str) -> int:
    """Return the school's stable bucket (0–9999) for `feature`."""
    return int(hashlib.sha256(f"{feature}:{school_uid}".encode()).hexdigest(), 16) % BUCKETS


def in_stage(feature: str, school_uid: str, percent: int) -> bool:
    """Tell whether a school is inside the first `percent` % of schools for `feature`."""
    return bucket(feature, school_uid) < percent * 100


def stage(session: Session, feature: str) -> FeatureStage | None:
    return session.get(FeatureStage, feature)


def percent_of(session: Session, feature: str) -> int:
    row = stage(session, feature)
    return row.percent if row else 0


def started(feature: str, now: datetime, r: Rules | None = None) -> bool:
    """Tell whether a feature's dated start has come (features without one: always)."""
    start = (r or rules()).start_of(feature)
    return start is None or now >= start


def enabled(session: Session, feature: str, school_uid: str, now: datetime) -> bool:
    """Tell whether `feature` is on for a school now: its date has come and its bucket is in."""
    return started(feature, now) and in_stage(feature, school_uid, percent_of(session, feature))


def _change(session: Session, row: FeatureStage, action: str, before: int, *, by: str,
            reason: str, now: datetime, data: dict[str, Any] | None = None) -> None:
    session.add(FeatureStageChange(feature=row.feature, action=action, from_percent=before,
                                   to_percent=row.percent, at=now, by=by, reason=reason))
    audit.record(session, actor=by, action=f"cohort.{action}", entity="feature",
                 entity_id=row.feature, reason=reason,
                 data={"from_percent": before, "to_percent": row.percent, "held": row.held,
                       **(data or {})})


def _known(feature: str, r: Rules) -> None:
    if feature not in r.features:
        raise CohortError(f"no such feature {feature!r} (known: {', '.join(r.features)}; "
                          f"features are listed in {RULES_FILE.name})")


def healthy_for(samples: list[HealthSample], start: datetime, now: datetime,
                max_gap: timedelta) -> timedelta:
    """Return how long the stage has been continuously healthy up to now, by its samples.

    The clock starts at `start`; a sample out of bounds, or a hole longer than `max_gap`
    between samples (or since the last one), starts it again.
    """
    clock = prev = start
    for s in sorted(samples, key=lambda s: s.at):
        if s.at < start:
            continue
        if not s.within or s.at - prev > max_gap:
            clock = s.at
        prev = s.at
    if now - prev > max_gap:
        return timedelta(0)
    return max(prev - clock, timedelta(0))


def window_start(row: FeatureStage, r: Rules) -> datetime:
    """Return when the current stage's health clock starts (stage set, hold lifted, date)."""
    points = [row.since] + ([row.lifted_at] if row.lifted_at else [])
    start = r.start_of(row.feature)
    if start is not None:
        points.append(start)  # before its date, nobody used the feature: nothing was measured
    return max(points)


def health(session: Session, row: FeatureStage, now: datetime, r: Rules | None = None) -> timedelta:
    """Return how long the feature's current stage has been healthy, by recorded samples."""
    r = r or rules()
    start = window_start(row, r)
    samples = list(session.scalars(select(HealthSample).where(
        HealthSample.feature == row.feature, HealthSample.percent == row.percent,
        HealthSample.at >= start)))
    return healthy_for(samples, start, now, r.max_gap)


def advance(session: Session, feature: str, *, by: str, reason: str, now: datetime,
            r: Rules | None = None) -> FeatureStage:
    """Move a feature to its next stage (audited); refuse while held or not yet healthy."""
    r = r or rules()
    _known(feature, r)
    row = stage(session, feature)
    if row is None:
        row = FeatureStage(feature=feature, percent=r.stages[0], since=now, by=by, reason=reason,
                           held=False)
        session.add(row)
    if row.held:
        raise CohortError(f"{feature} is held since {row.held_since:%Y-%m-%d %H:%M} UTC; "
                          "lift the hold first")
    later = [p for p in r.stages if p > row.percent]
    if not later:
        raise CohortError(f"{feature} is already at {row.percent} %")
    data: dict[str, Any] = {}
    if row.percent > 0:  # the first stage has no previous stage to be healthy at
        ok = health(session, row, now, r)
        need = timedelta(hours=r.min_hours)
        if ok < need:
            raise CohortError(f"{feature} at {row.percent} % has been healthy for "
                              f"{ok.total_seconds() / 3600:.1f} h of the {r.min_hours:g} h needed")
        data["healthy_hours"] = round(ok.total_seconds() / 3600, 1)
    before = row.percent
    row.percent, row.since, row.by, row.reason, row.lifted_at = later[0], now, by, reason, None
    _change(session, row, "advance", before, by=by, reason=reason, now=now, data=data)
    session.flush()
    return row


def hold(session: Session, feature: str, *, by: str, reason: str, now: datetime,
         data: dict[str, Any] | None = None, r: Rules | None = None) -> FeatureStage:
    """Hold a feature at its stage: it stays on where it is on, and cannot advance (audited)."""
    r = r or rules()
    if stage(session, feature) is None:
        _known(feature, r)
    row = stage(session, feature)
    if row is None:
        row = FeatureStage(feature=feature, percent=0, since=now, by=by, reason=reason, held=False)
        session.add(row)
    if row.held:
        raise CohortError(f"{feature} is already held")
    row.held, row.held_since = True, now
    _change(session, row, "hold", row.percent, by=by, reason=reason, now=now, data=data)
    session.flush()
    return row


def lift(session: Session, feature: str, *, by: str, reason: str, now: datetime) -> FeatureStage:
    """Lift a hold (audited); the stage's health clock starts again from now."""
    row = stage(session, feature)
    if row is None or not row.held:
        raise CohortError(f"{feature} is not held")
    row.held, row.held_since, row.lifted_at = False, None, now
    _change(session, row, "lift", row.percent, by=by, reason=reason, now=now)
    session.flush()
    return row


def breaches(figures: dict[str, float | None], r: Rules | None = None) -> dict[str, dict[str, float]]:
    """Return the figures at or past their thresholds, as the wall grades them (no data: no breach)."""
    r = r or rules()
    return {name: {"value": value, "limit": r.thresholds[name]}
            for name in FIGURES if (value := figures.get(name)) is not None
            and (value <= r.thresholds[name] if name in r.lower else value >= r.thresholds[name])}


def record_samples(session: Session, figures: dict[str, float | None], now: datetime,
                   r: Rules | None = None) -> list[HealthSample]:
    """Record one health sample per feature mid-rollout; hold any feature out of bounds."""
    r = r or rules()
    out = []
    for row in session.scalars(select(FeatureStage).order_by(FeatureStage.feature)):
        if not 0 < row.percent < r.stages[-1] or not started(row.feature, now, r):
            continue  # nothing to advance, or nobody can use it yet: its health is not at stake
        bad = breaches(figures, r)
        sample = HealthSample(feature=row.feature, percent=row.percent, at=now, within=not bad,
                              figures=json.dumps({"figures": figures, "breaches": bad},
                                                 sort_keys=True))
        session.add(sample)
        out.append(sample)
        if bad and not row.held:
            names = ", ".join(f"{k} {v['value']:g} (limit {v['limit']:g})" for k, v in bad.items())
            hold(session, row.feature, by=HEALTH_ACTOR, now=now, data={"breaches": bad}, r=r,
                 reason=f"health outside thresholds at {row.percent} %: {names}")
    session.flush()
    return out


def status(session: Session, now: datetime, r: Rules | None = None) -> list[dict[str, Any]]:
    """Return every known feature's stage, hold and health so far (features in the rules too)."""
    r = r or rules()
    rows = {row.feature: row for row in session.scalars(select(FeatureStage))}
    out = []
    for feature in sorted(set(rows) | set(r.features)):
        row = rows.get(feature)
        start = r.start_of(feature)
        item: dict[str, Any] = {
            "feature": feature, "percent": row.percent if row else 0,
            "held": bool(row and row.held),
            "since": row.since.isoformat() if row else None,
            "by": row.by if row else None, "reason": row.reason if row else None,
            "starts": start.isoformat() if start else None, "started": started(feature, now, r),
            "need_hours": r.min_hours}
        if row is not None and 0 < row.percent:
            item["healthy_hours"] = round(health(session, row, now, r).total_seconds() / 3600, 1)
        out.append(item)
    return out


def history(session: Session, feature: str) -> list[FeatureStageChange]:
    return list(session.scalars(select(FeatureStageChange).where(
        FeatureStageChange.feature == feature).order_by(FeatureStageChange.id)))
