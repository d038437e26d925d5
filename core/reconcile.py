"""Nightly reconciliation: compare per school-day fingerprints with upstream, repair, report (C3).

Each school-day gets a stored, audited report with both sides' fingerprints, so anyone
with the auditor role can later recompute them (`verify`).
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.models import AttendanceRecord, ReconciliationReport, School, SchoolClass
from core.upstream.client import UpstreamError, UpstreamUnavailable
from core.writeback import outbox, snapshot
from core.writeback.client import AttendanceClient
from core.writeback.fingerprint import ClassDay, fingerprint

AGREED, REPAIRED, DIFFERING = "agreed", "repaired", "differing"


@dataclass
class SchoolDayResult:
    """What reconciling one school-day found and did."""

    school: str
    day: date
    outcome: str
    local: dict[str, Any]
    remote: dict[str, Any] | None
    resent: int = 0
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"school": self.school, "day": self.day.isoformat(), "outcome": self.outcome,
                "local": self.local, "remote": self.remote, "resent": self.resent,
                "reasons": self.reasons}


def differences(local: list[ClassDay], remote: list[ClassDay]) -> tuple[list[ClassDay], list[str]]:
    """Return the local class-days to re-send, and every difference in words."""
    reasons: list[str] = []
    seen = Counter(cd.class_id for cd in remote)
    for cid, n in sorted(seen.items()):
        if n > 1:
            reasons.append(f"{cid}: upstream holds {n} records")
    held = {cd.class_id: cd for cd in remote}
    resend = []
    for cd in local:
        up = held.get(cd.class_id)
        if up is None:
            reasons.append(f"{cd.class_id}: missing upstream")
        elif up.revision != cd.revision:
            reasons.append(f"{cd.class_id}: upstream at revision {up.revision}, Hudoor at {cd.revision}")
        elif up.digest() != cd.digest():
            changed = sorted(set(up.marks) ^ set(cd.marks))
            size = "" if up.size == cd.size else f", size {up.size} vs {cd.size}"
            reasons.append(f"{cd.class_id}: content differs ({len(changed)} mark(s){size})")
        else:
            continue
        resend.append(cd)
    for cid in sorted(set(held) - {cd.class_id for cd in local}):
        reasons.append(f"{cid}: upstream holds a class-day Hudoor does not")
    return resend, reasons


def _read(client: AttendanceClient, school: str, day: date) -> list[ClassDay] | str:
    try:
        return client.read(school, day)
    except UpstreamError as exc:
        return f"upstream read failed: {exc}"


def reconcile_school_day(sessions: sessionmaker[Session], client: AttendanceClient,
                         school_id: int, day: date, *, actor: str, rounds: int,
                         clock: Callable[[], datetime]) -> SchoolDayResult:
    """Compare one school-day with upstream; re-send what differs, up to `rounds` times."""
    with sessions() as session:
        school = session.get(School, school_id)
        assert school is not None
        local = snapshot.school_day(session, school_id, day)
    mine = fingerprint(local)
    result = SchoolDayResult(school.upstream_id, day, DIFFERING, mine.as_dict(), None)
    first_reasons: list[str] | None = None
    put_errors: list[str] = []
    remote: list[ClassDay] | str = []
    for attempt in range(rounds + 1):
        remote = _read(client, school.upstream_id, day)
        if isinstance(remote, str):
            reasons = [remote]
            resend: list[ClassDay] = []
        else:
            resend, reasons = differences(local, remote)
        if first_reasons is None:
            first_reasons = reasons
        if not reasons:
            result.outcome = AGREED if attempt == 0 else REPAIRED
            break
        if attempt == rounds:
            break
        put_errors = []
        for cd in resend:
            try:
                client.put(school.upstream_id, day, cd)
                result.resent += 1
            except (UpstreamUnavailable, UpstreamError) as exc:
                put_errors.append(f"{cd.class_id}: re-send failed: {exc}"[:200])
    if result.outcome == REPAIRED:
        result.reasons = ["repaired: " + r for r in (first_reasons or [])]
    elif result.outcome == DIFFERING:
        result.reasons = reasons + put_errors
    if not isinstance(remote, str):
        result.remote = fingerprint(remote).as_dict()
        result.remote["records"] = len(remote)
    _store(sessions, school_id, result, local, actor, clock())
    return result


def _store(sessions: sessionmaker[Session], school_id: int, result: SchoolDayResult,
           local: list[ClassDay], actor: str, now: datetime) -> None:
    with sessions() as session, session.begin():
        settled = 0
        if result.outcome != DIFFERING:
            ids = dict(session.execute(select(SchoolClass.upstream_id, SchoolClass.id)
                                       .where(SchoolClass.school_id == school_id)).all())
            settled = outbox.settle(session, result.day,
                                    {ids[cd.class_id]: cd.revision for cd in local}, now)
        row = ReconciliationReport(
            school_id=school_id, day=result.day, run_at=now, outcome=result.outcome,
            local_fingerprint=result.local["digest"],
            remote_fingerprint=result.remote["digest"] if result.remote else None,
            local_count=int(result.local["marks"]), resent=result.resent,
            remote_count=int(result.remote["marks"]) if result.remote else 0,
            reasons=json.dumps(result.reasons, ensure_ascii=False), actor=actor[:100])
        session.add(row)
        audit.record(session, actor=actor, action="reconcile.report", entity="school_day",
                     entity_id=f"{result.school}:{result.day.isoformat()}",
                     reason=f"nightly reconciliation: {result.outcome}",
                     data={**result.as_dict(), "outbox_settled": settled})


def schools_with_attendance(session: Session, day: date, school: str | None = None) -> list[int]:
    """Return the ids of schools with attendance on `day` (or the one named, if it has any)."""
    q = (select(SchoolClass.school_id).join(AttendanceRecord, AttendanceRecord.class_id == SchoolClass.id)
         .where(AttendanceRecord.day == day).distinct())
    if school is not None:
        q = q.join(School, School.id == SchoolClass.school_id).where(School.upstream_id == school)
    return sorted(session.scalars(q))


def reconcile_day(sessions: sessionmaker[Session], client: AttendanceClient, day: date, *,
                  school: str | None = None, actor: str, rounds: int,
                  clock: Callable[[], datetime], workers: int = 1) -> list[SchoolDayResult]:
    """Reconcile every school-day of `day` (or one school's), `workers` school-days at a time."""
    with sessions() as session:
        ids = schools_with_attendance(session, day, school)
        # SQLite takes one writer at a time; PostgreSQL overlaps upstream reads with SQL.
        if session.get_bind().dialect.name != "postgresql":
            workers = 1

    def one(sid: int) -> SchoolDayResult:
        return reconcile_school_day(sessions, client, sid, day, actor=actor, rounds=rounds,
                                    clock=clock)

    if workers <= 1 or len(ids) <= 1:
        return [one(sid) for sid in ids]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile") as pool:
        return list(pool.map(one, ids))


@dataclass(frozen=True)
class Verification:
    school: str
    day: date
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"school": self.school, "day": self.day.isoformat(), "ok": self.ok,
                "detail": self.detail}


def verify(sessions: sessionmaker[Session], client: AttendanceClient, day: date,
           school: str | None = None) -> list[Verification]:
    """Recompute both sides' fingerprints of past school-days and check the stored reports."""
    out = []
    with sessions() as session:
        latest = (select(ReconciliationReport.school_id, func.max(ReconciliationReport.id))
                  .where(ReconciliationReport.day == day).group_by(ReconciliationReport.school_id))
        if school is not None:
            latest = latest.join(School, School.id == ReconciliationReport.school_id).where(
                School.upstream_id == school)
        ids = [rid for _, rid in session.execute(latest)]
        reports = session.scalars(select(ReconciliationReport).where(ReconciliationReport.id.in_(ids))
                                  .order_by(ReconciliationReport.school_id)).all()
        names = dict(session.execute(select(School.id, School.upstream_id)).all())
        locals_ = {r.id: fingerprint(snapshot.school_day(session, r.school_id, day)).digest
                   for r in reports}
    for r in reports:
        name = names[r.school_id]
        remote = _read(client, name, day)
        remote_now = None if isinstance(remote, str) else fingerprint(remote).digest
        problems = []
        if r.local_fingerprint != r.remote_fingerprint:
            problems.append(f"report says {r.outcome}: the stored fingerprints differ")
        if locals_[r.id] != r.local_fingerprint:
            problems.append("Hudoor's side changed since the report (an adjustment?)")
        if remote_now != r.remote_fingerprint:
            problems.append("upstream's side no longer matches the stored fingerprint")
        out.append(Verification(name, day, not problems, "; ".join(problems) or
                                f"both sides {r.local_fingerprint[:16]}… as reported"))
    return out
