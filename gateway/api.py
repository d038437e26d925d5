"""The admin API: every endpoint names its permission; anything else is refused (deny by default)."""

from __future__ import annotations

import json
from datetime import date
from functools import wraps
from typing import Any, Callable

from flask import Blueprint, Response, abort, current_app, g, jsonify, request
from sqlalchemy import func, select

from core import api_tokens, audit_anchor
from core.disclosure import cell
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    DuplicateFlag,
    Person,
    QuarantinedRecord,
    School,
    SchoolClass,
    SyncRun,
)
from core.models import utcnow
from core.rbac import Permission
from core.runtime import runtime_of

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def requires(permission: Permission, *, school_scoped: bool = False
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the permission an endpoint needs; the blueprint refuses endpoints without one.

    `school_scoped`: the view takes a `school` argument and champions see only their own.
    Both are read back by gateway/security_matrix.py for docs/SECURITY.md.
    """
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def inner(*args: Any, **kwargs: Any) -> Any:
            if not g.principal.can(permission):
                abort(403)
            if school_scoped and not g.principal.sees_school(kwargs["school"]):
                abort(403)
            return view(*args, **kwargs)
        inner.permission = permission  # type: ignore[attr-defined]
        inner.school_scoped = school_scoped  # type: ignore[attr-defined]
        return inner
    return wrap


@bp.before_request
def authenticate() -> Response | None:
    """Resolve the bearer token; refuse endpoints that declare no permission at all."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return _error(401, "a bearer token is required")
    rt = runtime_of(current_app)
    try:  # the primary, not a replica: a revocation must count the moment it is committed
        with rt.sessions() as session:
            g.principal = api_tokens.resolve(session, rt.config.secret_key, header[7:], utcnow())
    except api_tokens.TokenInvalid:
        return _error(401, "token invalid, expired or revoked")
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not hasattr(view, "permission"):
        return _error(403, "endpoint declares no permission: denied by default")
    return None


def _error(status: int, message: str) -> Response:
    resp = jsonify(error=message)
    resp.status_code = status
    return resp


@bp.errorhandler(403)
def _forbidden(_exc: Exception) -> Response:
    return _error(403, "not allowed for this role or scope")


@bp.get("/sync/runs")
@requires(Permission.SYNC_READ)
def sync_runs() -> Response:
    """List the latest sync runs with their reports."""
    with runtime_of(current_app).replica_sessions() as s:
        runs = s.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(50)).all()
        return jsonify([{"id": r.id, "kind": r.kind, "scope": r.scope, "status": r.status,
                         "started_at": r.started_at.isoformat(), "counts": json.loads(r.counts),
                         "dropped_fields": json.loads(r.dropped_fields)} for r in runs])


@bp.get("/quarantine")
@requires(Permission.QUARANTINE_READ)
def quarantine() -> Response:
    """List open quarantined upstream records (minimised) with their reasons."""
    with runtime_of(current_app).replica_sessions() as s:
        rows = s.scalars(select(QuarantinedRecord).where(QuarantinedRecord.resolved_at.is_(None))
                         .order_by(QuarantinedRecord.id.desc()).limit(500)).all()
        return jsonify([{"id": q.id, "run_id": q.run_id, "upstream_id": q.upstream_id,
                         "school": q.school_upstream_id, "reason": q.reason} for q in rows])


@bp.get("/duplicates")
@requires(Permission.DUPLICATES_READ)
def duplicates() -> Response:
    """List open suspected duplicates awaiting a human merge decision."""
    with runtime_of(current_app).replica_sessions() as s:
        rows = s.execute(select(DuplicateFlag.id, DuplicateFlag.reason, Person.upstream_id,
                                DuplicateFlag.other_person_id)
                         .join(Person, Person.id == DuplicateFlag.person_id)
                         .where(DuplicateFlag.status == "open").limit(500)).all()
        return jsonify([{"id": i, "reason": r, "person": p, "other_person_id": o} for i, r, p, o in rows])


@bp.get("/schools/<school>/attendance")
@requires(Permission.ATTENDANCE_AGGREGATES, school_scoped=True)
def school_attendance(school: str) -> Response:
    """Return one school's attendance for a day as aggregates per class (no names, no ranking).

    Every count of fewer than five children (size, absent, late) reads "<5", never the number.
    """
    try:
        day = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return _error(400, "day=YYYY-MM-DD is required")
    with runtime_of(current_app).replica_sessions() as s:
        school_row = s.scalars(select(School).where(School.upstream_id == school)).first()
        if school_row is None:
            return _error(404, "no such school")
        rows = s.execute(
            select(SchoolClass.upstream_id, AttendanceRecord.class_size, AttendanceMark.status,
                   func.count(AttendanceMark.id))
            .join(AttendanceRecord, AttendanceRecord.class_id == SchoolClass.id)
            .outerjoin(AttendanceMark, AttendanceMark.record_id == AttendanceRecord.id)
            .where(SchoolClass.school_id == school_row.id, AttendanceRecord.day == day)
            .group_by(SchoolClass.upstream_id, AttendanceRecord.class_size, AttendanceMark.status)).all()
    classes: dict[str, dict[str, int]] = {}
    for cls, size, status, n in rows:
        entry = classes.setdefault(cls, {"size": size, "absent": 0, "late": 0})
        if status:
            entry[status] = n
    # Sorted by class id, never by a rate: no league tables (G5). Small cells suppressed.
    return jsonify({"school": school, "day": day.isoformat(), "classes_taken": len(classes),
                    "classes": [{"class": k, **{name: cell(n) for name, n in v.items()}}
                                for k, v in sorted(classes.items())]})


@bp.get("/audit/verify")
@requires(Permission.AUDIT_VERIFY)
def audit_verify() -> Response:
    """Verify the audit chain and return the head hash to anchor elsewhere."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        result = audit_anchor.verify(s, rt.config.audit_anchor_path)
    return jsonify(ok=result.ok, checked=result.checked, head_seq=result.head_seq,
                   head_hash=result.head_hash, problems=result.problems[:100])


@bp.get("/tokens")
@requires(Permission.TOKENS_READ)
def tokens() -> Response:
    """List live admin-API tokens: who holds which role until when (never the token itself)."""
    with runtime_of(current_app).sessions() as s:
        rows = api_tokens.listing(s, utcnow())
    return jsonify([{"id": t.id, "role": t.role, "subject": t.subject, "school": t.school,
                     "issued_by": t.issued_by, "expires_at": t.expires_at.isoformat()} for t in rows])
