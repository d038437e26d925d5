"""The gate's thresholds, read from `gate_rules` (data, the same for every school)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar_seed import GATE_RULES
from core.models import GateRule


@dataclass(frozen=True)
class Rules:
    """Every threshold the gate and the anomaly engine use."""

    parity_threshold: float = 0.98
    consecutive_weeks: int = 4
    max_excluded_share: float = 0.10
    min_student_days: int = 20
    new_school_window_days: int = 20
    burst_seconds: float = 30
    burst_min_classes: int = 3
    late_capture_hours: float = 3
    flat_week_seconds: float = 60
    flat_week_min_days: int = 4
    after_paper: bool = True


DEFAULTS = Rules(**{name: type(getattr(Rules, name))(value) for name, value, _ in GATE_RULES})


def load(session: Session) -> Rules:
    """Return the rules as stored; a missing row keeps the seeded default."""
    stored = {n: v for n, v in session.execute(select(GateRule.name, GateRule.value))}
    values = {}
    for f in fields(Rules):
        default = getattr(DEFAULTS, f.name)
        raw = stored.get(f.name, default)
        values[f.name] = type(default)(raw)
    return Rules(**values)
