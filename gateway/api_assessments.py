"""Admin API of the quiz (R8): one class's results, aggregates only, small cells suppressed."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from core import assessments
from core.rbac import Permission
from core.runtime import runtime_of
from gateway.api import _error, bp, requires

MAX_ID = 64


@bp.get("/schools/<school>/classes/<klass>/assessments")
@requires(Permission.ASSESSMENTS_READ, school_scoped=True)
def class_results(school: str, klass: str) -> Response:
    """Return one class's quiz results per question: counts and shares, never names or scores."""
    quiz = request.args.get("quiz") or None
    if len(klass) > MAX_ID or (quiz is not None and len(quiz) > MAX_ID):
        return _error(400, "id too long")
    rt = runtime_of(current_app)
    with rt.replica_sessions() as s:
        try:
            return jsonify(assessments.results(s, klass, quiz, school_uid=school))
        except LookupError as exc:
            return _error(404, str(exc.args[0]))
