"""Admin API for merges and reversible bulk operations (C4): ops merge and revert, others read."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request

from core import bulk, merge
from core.rbac import Permission
from core.runtime import runtime_of
from gateway.api import _error, bp, requires
from gateway.cli_bulk import forget_touched


def _actor() -> str:
    return f"{g.principal.role.value}:{g.principal.subject}"


@bp.get("/bulk")
@requires(Permission.BULK_READ)
def bulk_list() -> Response:
    """List the latest bulk operations (newest first) and whether each can still be reverted."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        return jsonify([v.as_dict() for v in bulk.listing(s, rt.clock())])


@bp.get("/bulk/<int:op_id>")
@requires(Permission.BULK_READ)
def bulk_show(op_id: int) -> Response:
    """Show one bulk operation with its before- and after-images."""
    rt = runtime_of(current_app)
    with rt.sessions() as s:
        try:
            return jsonify(bulk.show(s, op_id, rt.clock()).as_dict())
        except bulk.NotFound as exc:
            return _error(404, str(exc))


def _reason() -> str | None:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("reason"), str) or not body["reason"].strip():
        return None
    return str(body["reason"])


@bp.post("/bulk/<int:op_id>/revert")
@requires(Permission.BULK_REVERT)
def bulk_revert(op_id: int) -> Response:
    """Revert a bulk operation: `{"reason": "…"}`; 409 when final or rows changed since."""
    reason = _reason()
    if reason is None:
        return _error(400, 'body must be {"reason": "why"}')
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            view = bulk.revert(s, op_id, by=_actor(), reason=reason, now=rt.clock())
    except bulk.NotFound as exc:
        return _error(404, str(exc))
    except bulk.ChangedSince as exc:
        resp = jsonify(error=str(exc), changed=exc.rows)
        resp.status_code = 409
        return resp
    except bulk.BulkError as exc:
        return _error(409, str(exc))
    forget_touched(rt, op_id)
    return jsonify(view.as_dict())


@bp.post("/merges")
@requires(Permission.PEOPLE_MERGE)
def merge_people() -> Response:
    """Merge a duplicate: `{"keep": ID, "merge": ID, "reason": "…"}` (upstream ids)."""
    body = request.get_json(silent=True)
    if (not isinstance(body, dict) or not all(isinstance(body.get(k), str) and body[k].strip()
                                              for k in ("keep", "merge", "reason"))):
        return _error(400, 'body must be {"keep": ID, "merge": ID, "reason": "why"}')
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            keep, gone = merge.find(s, body["keep"]), merge.find(s, body["merge"])
            if keep is None or gone is None:
                return _error(404, "no such person")
            op = merge.merge(s, keep_id=keep.id, merge_id=gone.id, actor=_actor(),
                             reason=body["reason"], now=rt.clock())
            view = bulk.show(s, op.id, rt.clock())
    except merge.MergeRefused as exc:
        return _error(409, str(exc))
    forget_touched(rt, op.id)
    resp = jsonify({k: v for k, v in view.as_dict().items() if k != "rows"})
    resp.status_code = 201
    return resp


@bp.get("/people/<person>/history")
@requires(Permission.PEOPLE_HISTORY)
def person_history(person: str) -> Response:
    """One identity's marks, SIM links (last digits), adjustments and audit, by any of its ids."""
    with runtime_of(current_app).sessions() as s:
        found = merge.find(s, person)
        if found is None:
            return _error(404, "no such person")
        return jsonify(merge.history(s, found).as_dict())
