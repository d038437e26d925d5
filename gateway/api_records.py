"""Admin API for the record of truth: adjustments (U3) and reconciliation reports (C3)."""

from __future__ import annotations

import json
from datetime import date

from flask import Response, abort, current_app, g, jsonify, request
from sqlalchemy import select

from core import adjustments as adj
from core.models import AttendanceAdjustment, Person, ReconciliationReport, School
from core.rbac import Permission
from gateway.api import _error, bp, requires
from core.runtime import runtime_of


@bp.get("/schools/<school>/adjustments")
@requires(Permission.ADJUSTMENTS_READ, school_scoped=True)
def school_adjustments(school: str) -> Response:
    """List a school's adjustments (pending by default; ?state=all for every one)."""
    state = request.args.get("state", "pending")
    rt = runtime_of(current_app)
    with rt.replica_sessions() as s:
        school_row = s.scalars(select(School).where(School.upstream_id == school)).first()
        if school_row is None:
            return _error(404, "no such school")
        q = select(AttendanceAdjustment).where(AttendanceAdjustment.school_id == school_row.id)
        if state != "all":
            q = q.where(AttendanceAdjustment.state == state)
        return jsonify([adj.as_dict(s, rt.config, a)
                        for a in s.scalars(q.order_by(AttendanceAdjustment.id))])


@bp.post("/adjustments/<int:adjustment_id>/decision")
@requires(Permission.ADJUSTMENTS_DECIDE)
def decide(adjustment_id: int) -> Response:
    """Approve or reject an adjustment: `{"approve": true|false}`, as the token's own staff id."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("approve"), bool):
        return _error(400, 'body must be {"approve": true|false}')
    rt = runtime_of(current_app)
    with rt.sessions() as s, s.begin():
        row = s.get(AttendanceAdjustment, adjustment_id)
        school = s.get(School, row.school_id) if row is not None else None
        if row is None or school is None:
            return _error(404, "no such adjustment")
        if not g.principal.sees_school(school.upstream_id):
            abort(403)
        approver = s.scalars(select(Person).where(Person.upstream_id == g.principal.subject)).first()
        if approver is None:
            return _error(403, "the token's subject is not a staff member")
        try:
            done = adj.decide(s, rt.config, adjustment_id, approver_id=approver.id,
                              approve=body["approve"], now=rt.clock())
        except adj.NotAllowed as exc:
            return _error(403, str(exc))
        except adj.Locked as exc:
            return _error(409, str(exc))  # the expiry is committed with the transaction
        except adj.AdjustmentError as exc:
            return _error(409, str(exc))
        return jsonify(adj.as_dict(s, rt.config, done))


@bp.get("/reconciliations")
@requires(Permission.RECONCILIATION_READ)
def reconciliations() -> Response:
    """Return the stored reconciliation reports of a day: both fingerprints, outcome, reasons."""
    try:
        day = date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return _error(400, "day=YYYY-MM-DD is required")
    with runtime_of(current_app).replica_sessions() as s:
        rows = s.execute(select(ReconciliationReport, School.upstream_id)
                         .join(School, School.id == ReconciliationReport.school_id)
                         .where(ReconciliationReport.day == day)
                         .order_by(School.upstream_id, ReconciliationReport.id)).all()
        return jsonify([{"school": up, "day": r.day.isoformat(), "run_at": r.run_at.isoformat(),
                         "outcome": r.outcome, "hudoor_fingerprint": r.local_fingerprint,
                         "upstream_fingerprint": r.remote_fingerprint,
                         "hudoor_marks": r.local_count, "upstream_marks": r.remote_count,
                         "resent": r.resent, "reasons": json.loads(r.reasons)}
                        for r, up in rows])
