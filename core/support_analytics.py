"""What the support desk needs to act on, as aggregates only (G5): worklists, never a league table.

Schools appear in worklists by upstream id (alphabetical), never ordered by a rate or
score; counts that count people go through core.disclosure.cell (fewer than five: "<5").
Counts of schools are not suppressed: the worklist beside them names those schools anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import calendar, calendar_store
from core.config import Config
from core.disclosure import cell
from core.models import (
    AttendanceRecord,
    Contact,
    ContactKind,
    DuplicateFlag,
    Person,
    QuarantinedRecord,
    Revocation,
    School,
    SchoolClass,
    SyncRun,
)

STUCK_AFTER = timedelta(hours=1)  # a sync run still "running" this long has stalled
STAFF_ROLES = ("teacher", "champion", "principal")


@dataclass(frozen=True)
class SchoolLine:
    """One school on a worklist, with what the desk needs to call it (no one is ranked)."""

    upstream_id: str
    name: str
    governorate: str
    classes: int  # active classes
    classes_marked: int  # classes with attendance today
    staff_with_sim: int | str  # staff who bound a SIM, suppressed under five
    note: str = ""  # why it is on the list (stuck sync: "failed" or "stalled")


@dataclass(frozen=True)
class Category:
    key: str  # stable id, e.g. "quarantine_open"; the page names it in the reader's language
    value: int | str  # a count, or "<5"


@dataclass(frozen=True)
class SupportView:
    day: date
    school_day: bool  # False: no school holds school today; no-marks list is empty on purpose
    no_marks: list[SchoolLine]
    stuck_sync: list[SchoolLine]
    delta_problem: str  # "" when healthy, else "never" | "failed" | "stalled" | "stale"
    categories: list[Category] = field(default_factory=list)


def _lines(session: Session, school_ids: set[int], day: date,
           notes: dict[int, str] | None = None) -> list[SchoolLine]:
    if not school_ids:
        return []
    ids = list(school_ids)
    classes = dict(session.execute(select(SchoolClass.school_id, func.count()).where(
        SchoolClass.school_id.in_(ids), SchoolClass.active.is_(True))
        .group_by(SchoolClass.school_id)).all())
    marked = dict(session.execute(
        select(SchoolClass.school_id, func.count(AttendanceRecord.id))
        .join(AttendanceRecord, AttendanceRecord.class_id == SchoolClass.id)
        .where(SchoolClass.school_id.in_(ids), AttendanceRecord.day == day)
        .group_by(SchoolClass.school_id)).all())
    with_sim = dict(session.execute(
        select(Person.school_id, func.count(func.distinct(Person.id)))
        .join(Contact, (Contact.person_id == Person.id) & (Contact.kind == ContactKind.STAFF.value)
              & Contact.revoked_at.is_(None))
        .where(Person.school_id.in_(ids), Person.active.is_(True), Person.role.in_(STAFF_ROLES))
        .group_by(Person.school_id)).all())
    rows = session.execute(select(School.id, School.upstream_id, School.name, School.governorate)
                           .where(School.id.in_(ids)).order_by(School.upstream_id)).all()
    return [SchoolLine(up, name, gov, int(classes.get(sid, 0)), int(marked.get(sid, 0)),
                       cell(int(with_sim.get(sid, 0))), (notes or {}).get(sid, ""))
            for sid, up, name, gov in rows]


def _stuck(session: Session, now: datetime) -> dict[int, str]:
    """Return schools whose latest school-scoped sync failed or stalled, with that state."""
    latest = (select(SyncRun.scope, func.max(SyncRun.id).label("id"))
              .where(SyncRun.scope != "all").group_by(SyncRun.scope).subquery())
    out: dict[int, str] = {}
    for sid, status, started in session.execute(
            select(School.id, SyncRun.status, SyncRun.started_at)
            .join(latest, latest.c.id == SyncRun.id)
            .join(School, School.upstream_id == SyncRun.scope)):
        if status == "failed":
            out[sid] = "failed"
        elif status == "running" and started <= now - STUCK_AFTER:
            out[sid] = "stalled"
    return out


def _delta_problem(session: Session, now: datetime, config: Config) -> str:
    run = session.scalars(select(SyncRun).where(SyncRun.kind == "delta")
                          .order_by(SyncRun.id.desc()).limit(1)).first()
    if run is None:
        return "never"
    if run.status == "failed":
        return "failed"
    if run.status == "running" and run.started_at <= now - STUCK_AFTER:
        return "stalled"
    done = session.scalar(select(func.max(SyncRun.finished_at)).where(
        SyncRun.kind == "delta", SyncRun.status == "done"))
    if done is None or now - done > timedelta(seconds=3 * config.sync_interval_seconds):
        return "stale"
    return ""


def support_view(session: Session, config: Config, now: datetime) -> SupportView:
    """Return today's worklists and category counts for the desk (aggregates only)."""
    day = calendar.to_cairo(now).date()
    cal = calendar_store.current(session, config)
    active = set(session.scalars(select(School.id).where(School.active.is_(True))))
    open_today = cal.open_schools(day) & active
    with_marks = set(session.scalars(
        select(SchoolClass.school_id).join(AttendanceRecord, AttendanceRecord.class_id == SchoolClass.id)
        .where(AttendanceRecord.day == day).distinct()))
    stuck = _stuck(session, now)
    no_marks = _lines(session, open_today - with_marks, day)
    stuck_lines = _lines(session, set(stuck) & active, day, stuck)
    quarantine = session.scalar(select(func.count()).select_from(QuarantinedRecord)
                                .where(QuarantinedRecord.resolved_at.is_(None))) or 0
    duplicates = session.scalar(select(func.count()).select_from(DuplicateFlag)
                                .where(DuplicateFlag.status == "open")) or 0
    revoked = session.scalar(select(func.count()).select_from(Revocation)
                             .where(Revocation.applied_at >= now - timedelta(hours=24))) or 0
    categories = [
        Category("no_marks", len(no_marks)),
        Category("stuck_sync", len(stuck_lines)),
        Category("quarantine_open", cell(int(quarantine))),
        Category("duplicates_open", cell(int(duplicates))),
        Category("access_revoked_24h", cell(int(revoked))),
    ]
    return SupportView(day, bool(open_today), no_marks, stuck_lines,
                       _delta_problem(session, now, config), categories)
