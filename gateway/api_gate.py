"""Admin API of the parity gate: paper-register upload, one school's parity (no rankings)."""

from __future__ import annotations

from flask import Response, abort, current_app, g, jsonify, request
from sqlalchemy import select

from core import calendar, calendar_store
from core.gate import paper, service
from core.models import School
from core.rbac import Permission
from gateway.api import _error, bp, requires
from core.runtime import runtime_of

MAX_UPLOAD_BYTES = 8 * 1024 * 1024


@bp.post("/schools/<school>/paper")
@requires(Permission.PAPER_UPLOAD)
def paper_upload(school: str) -> Response:
    """Accept a CSV of paper marks (class,day,student,status): all rows or none, errors per row."""
    if not g.principal.sees_school(school):
        abort(403)
    if (request.content_length or 0) > MAX_UPLOAD_BYTES:
        return _error(413, f"at most {MAX_UPLOAD_BYTES} bytes per upload")
    upload = request.files.get("file")
    raw = upload.read() if upload else request.get_data()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _error(400, "the CSV must be UTF-8")
    rt = runtime_of(current_app)
    now = rt.clock()
    actor = f"{g.principal.role.value}:{g.principal.subject}"
    try:
        with rt.sessions() as s, s.begin():
            cal = calendar_store.current(s, rt.config)
            applied = paper.apply_csv(s, school, text, cal=cal, today=calendar.today(rt.clock),
                                      actor=actor, now=now)
    except paper.PaperRejected as exc:
        resp = jsonify(error="nothing was applied", rows=[
            {"row": e.row, "error": e.error} for e in exc.errors[:1000]])
        resp.status_code = 422
        return resp
    return jsonify(upload=applied.upload_id, rows=applied.rows, new=applied.new,
                   changed=applied.changed)


@bp.get("/schools/<school>/parity")
@requires(Permission.PARITY_READ)
def parity(school: str) -> Response:
    """Return one school's gate state and weekly parity/anomaly figures (aggregates only)."""
    if not g.principal.sees_school(school):
        abort(403)
    rt = runtime_of(current_app)
    with rt.replica_sessions() as s:
        sid = s.scalar(select(School.id).where(School.upstream_id == school))
        if sid is None:
            return _error(404, "no such school")
        rep = service.report(s, sid, calendar_store.current(s, rt.config), rt.clock())
    return jsonify(school=school, state=rep.state.value, legal_record=(
        "digital" if rep.state is service.State.DIGITAL else "paper"),
        window_starts=rep.window_starts.isoformat(),
        window_ends=rep.window_ends.isoformat() if rep.window_ends else None,
        weeks=[w.as_dict() for w in rep.weeks], fired=rep.fired)
