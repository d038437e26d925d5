"""Admin API for delegated-access support views (R6): a desk agent asks, then reads what was granted."""

from __future__ import annotations

from flask import Response, current_app, g, jsonify, request
from sqlalchemy import select

from core import support_access as support
from core.models import CentralStaff, SupportGrant
from core.rbac import Permission
from core.runtime import runtime_of
from gateway.api import _error, bp, requires


@bp.post("/support/requests")
@requires(Permission.SUPPORT_REQUEST)
def support_request() -> Response:
    """Ask for a view: `{"scope": "school"|"person", "target": ID, "minutes": 60|240|1440, "reason": …}`.

    The school's champion (or the person) answers over USSD, main-menu key 7.
    """
    body = request.get_json(silent=True)
    if (not isinstance(body, dict) or not isinstance(body.get("target"), str)
            or not isinstance(body.get("minutes"), int) or not isinstance(body.get("reason"), str)):
        return _error(400, 'body must be {"scope": "school"|"person", "target": ID, '
                           '"minutes": 60|240|1440, "reason": "why"}')
    rt = runtime_of(current_app)
    try:
        with rt.sessions() as s, s.begin():
            row = support.request(s, agent_ref=g.principal.subject, scope=str(body.get("scope")),
                                  target=body["target"], minutes=body["minutes"],
                                  reason=body["reason"], now=rt.clock())
            out = support.as_dict(row)
    except support.SupportRefused as exc:
        return _error(422, str(exc))
    resp = jsonify(out)
    resp.status_code = 201
    return resp


@bp.get("/support/requests")
@requires(Permission.SUPPORT_REQUEST)
def support_mine() -> Response:
    """List this agent's requests and grants (newest first) with their state."""
    with runtime_of(current_app).sessions() as s:
        rows = s.scalars(select(SupportGrant).join(CentralStaff, CentralStaff.id == SupportGrant.agent_id)
                         .where(CentralStaff.staff_ref == g.principal.subject)
                         .order_by(SupportGrant.id.desc()).limit(100)).all()
        return jsonify([support.as_dict(r) for r in rows])


@bp.get("/support/grants/<int:grant_id>/view")
@requires(Permission.SUPPORT_VIEW)
def support_view(grant_id: int) -> Response:
    """The granted view, read-only and watermarked; 409 with the reason while it is not live."""
    rt = runtime_of(current_app)
    now = rt.clock()
    with rt.sessions() as s, s.begin():
        try:
            live = support.check_live(s, grant_id, g.principal.subject, now)
        except support.NoSuchGrant as exc:
            return _error(404, str(exc))
        except support.NotLive as exc:  # the role may view; this grant does not allow it now
            return _error(409, f"support view refused: {exc}")
        support.record_view(s, live, "api")
        if live.grant.scope == "school":
            return jsonify(support.school_view(s, live, rt.today()))
        return jsonify(support.person_view(s, live, rt.today(), now))
