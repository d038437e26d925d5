"""The gate: evaluate completed weeks, fire under the pre-registered directive, central reversal.

Nothing here takes a school-specific threshold, a date to fire on, or a "force" switch: the
only way to fire is `evaluate`, which fires when the stored rules say so, on completed weeks.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, calendar
from core.gate import parity, rules as gate_rules
from core.gate.parity import Week
from core.models import GateDirective, GateFiring, School, SchoolCalendarRow
from core.school_calendar import SchoolCalendar


class GateError(ValueError):
    """A gate operation was refused (the message says why)."""


class State(str, enum.Enum):
    PARALLEL = "parallel"  # paper is the legal record; digital runs beside it
    DIGITAL = "digital"  # the gate fired: digital is the legal record
    REVERSED = "reversed"  # the ministry reversed a firing centrally: paper again


@dataclass(frozen=True)
class Report:
    """One school's gate: window, weeks so far, state (aggregates only)."""

    school_id: int
    state: State
    window_starts: date
    window_ends: date | None  # new schools (R9): ~20 working days after joining
    weeks: list[Week] = field(default_factory=list)
    fired: dict[str, Any] | None = None


def register_directive(session: Session, name: str, text: str, *, by: str,
                       now: datetime) -> GateDirective:
    """Store a directive's text and hash before the pilot (audited; never edited after)."""
    if not (name.strip() and text.strip() and by.strip()):
        raise GateError("a directive needs a name, a text and who registers it")
    if session.scalar(select(GateDirective.id).where(GateDirective.name == name)):
        raise GateError(f"directive {name!r} is already registered; register a new name")
    digest = hashlib.sha256(text.encode()).hexdigest()
    row = GateDirective(name=name, text=text, sha256=digest, registered_by=by, registered_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor=by, action="gate.directive.register", entity="gate_directive",
                 entity_id=row.id, reason="pre-signed paper-retirement directive",
                 data={"name": name, "sha256": digest})
    return row


def window(session: Session, school_id: int, cal: SchoolCalendar,
           rules: gate_rules.Rules) -> tuple[date, date | None]:
    """Return a school's parallel window: the pilot's first term, or (R9) its join date."""
    joined = session.scalar(select(SchoolCalendarRow.joined_on)
                            .where(SchoolCalendarRow.school_id == school_id))
    if joined is not None:
        return joined, cal.working_days_after(joined, rules.new_school_window_days - 1, school_id)
    starts = min((a for a, _ in cal.terms), default=date(2026, 9, 1))
    return starts, None


def _directive(session: Session, before: date) -> GateDirective | None:
    """The newest directive registered before the window opened (pre-signed, not after)."""
    cutoff = calendar.at_cairo(before, datetime.min.time())
    return session.scalars(select(GateDirective).where(GateDirective.registered_at < cutoff)
                           .order_by(GateDirective.registered_at.desc()).limit(1)).first()


def _active_firing(session: Session, school_id: int) -> GateFiring | None:
    return session.scalars(select(GateFiring).where(GateFiring.school_id == school_id)
                           .order_by(GateFiring.id.desc()).limit(1)).first()


def report(session: Session, school_id: int, cal: SchoolCalendar, now: datetime) -> Report:
    """Compute a school's completed weeks since its window opened, and its state."""
    rules = gate_rules.load(session)
    start, end = window(session, school_id, cal, rules)
    today = calendar.to_cairo(now).date()
    weeks = []
    week = calendar.week_start(start)
    while week + timedelta(days=7) <= today:  # only completed weeks; none can be brought forward
        weeks.append(parity.week(session, school_id, week, cal, rules))
        week += timedelta(days=7)
    firing = _active_firing(session, school_id)
    state = State.PARALLEL if firing is None else (
        State.REVERSED if firing.reversed_at else State.DIGITAL)
    fired = None if firing is None else {
        "fired_at": firing.fired_at.isoformat(), "directive_sha256": firing.directive_sha256,
        "weeks": json.loads(firing.weeks),
        "reversed_at": firing.reversed_at.isoformat() if firing.reversed_at else None}
    return Report(school_id, state, start, end, weeks, fired)


def evaluate(session: Session, school_id: int, cal: SchoolCalendar, now: datetime, *,
             actor: str) -> Report:
    """Fire the gate for a school if its completed weeks qualify; otherwise change nothing."""
    rep = report(session, school_id, cal, now)
    if rep.state is not State.PARALLEL:
        return rep  # fired once; after a central reversal only the ministry decides again
    rules = gate_rules.load(session)
    run = parity.streak(rep.weeks, rules)
    if not run:
        return rep
    directive = _directive(session, rep.window_starts)
    if directive is None:
        return rep  # nothing pre-signed: paper stays the legal record
    weeks = [w.week_start.isoformat() for w in run]
    figures = [w.as_dict() for w in run]
    row = GateFiring(school_id=school_id, directive_id=directive.id,
                     directive_sha256=directive.sha256, fired_at=now,
                     weeks=json.dumps(weeks), figures=json.dumps(figures))
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="gate.fire", entity="school", entity_id=school_id,
                 reason=f"parity >= {rules.parity_threshold} for {rules.consecutive_weeks} "
                        "consecutive eligible weeks",
                 data={"directive": directive.name, "sha256": directive.sha256, "weeks": weeks,
                       "figures": figures})
    return report(session, school_id, cal, now)


def reverse(session: Session, school_upstream_id: str, *, reference: str, by: str, reason: str,
            now: datetime) -> None:
    """Reverse a firing on the ministry's decision (central, audited, with its reference)."""
    sid = session.scalar(select(School.id).where(School.upstream_id == school_upstream_id))
    if sid is None:
        raise GateError(f"no school {school_upstream_id!r}")
    if not (reference.strip() and by.strip() and reason.strip()):
        raise GateError("a reversal needs the ministry's --reference, --by and --reason")
    firing = _active_firing(session, sid)
    if firing is None or firing.reversed_at is not None:
        raise GateError(f"the gate of {school_upstream_id} has not fired")
    firing.reversed_at, firing.reversed_by, firing.reversal_reference = now, by, reference
    audit.record(session, actor=by, action="gate.reverse", entity="school",
                 entity_id=school_upstream_id, reason=reason,
                 data={"firing": firing.id, "reference": reference})


def legal_record(session: Session, school_id: int) -> str:
    """Return "digital" once the gate fired (and stands), else "paper"."""
    firing = _active_firing(session, school_id)
    return "digital" if firing is not None and firing.reversed_at is None else "paper"


def state_counts(session: Session) -> dict[str, int]:
    """Count schools per gate state (for /status: counts, never a ranking)."""
    latest = select(GateFiring.school_id, func.max(GateFiring.id).label("id")) \
        .group_by(GateFiring.school_id).subquery()
    rows = session.execute(select(GateFiring.reversed_at.is_(None), func.count())
                           .join(latest, latest.c.id == GateFiring.id)
                           .group_by(GateFiring.reversed_at.is_(None))).all()
    digital = sum(n for live, n in rows if live)
    reversed_ = sum(n for live, n in rows if not live)
    schools = session.scalar(select(func.count()).select_from(School).where(School.active)) or 0
    return {State.DIGITAL.value: digital, State.REVERSED.value: reversed_,
            State.PARALLEL.value: max(0, schools - digital - reversed_)}
