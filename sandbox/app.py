"""The sandbox SIS as a Flask app: contract v1's four GET endpoints and v2's attendance."""

import hmac
import time

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from sandbox.control import control
from sandbox.district import District
from sandbox.faults import Faults, FaultSwitch, change_faults, roster_faults
from sandbox.v2 import v2
from sandbox.web import (
    EXTENSION, BadParam, SandboxState, error_response, int_param, json_response,
)

MAX_PAGE_SIZE = 5000
DEFAULT_PAGE_SIZE = 1000
DEFAULT_CHANGE_LIMIT = 500


def create_sandbox_app(district: District, faults: Faults | None = None, *,
                       token: str | None = None) -> Flask:
    """Return a Flask app serving district per the upstream contract, misbehaving per faults."""
    app = Flask("sandbox")
    state = SandboxState(district, FaultSwitch(faults), token or None)
    app.extensions[EXTENSION] = state
    app.register_blueprint(control)
    app.register_blueprint(v2)

    @app.before_request
    def _guard() -> Response | None:
        """Check the bearer token, then inject slowness and server errors on /v1/."""
        if state.token is not None:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {state.token}".encode()):
                return error_response(401, "unauthorized", "a valid bearer token is required")
        if not request.path.startswith("/v1/"):
            return None
        state.stats.add(requests=1)
        current = state.faults.current
        if current.slow_pages:
            time.sleep(current.slow_pages / 1000)
        code = state.faults.draw_error()
        if code is not None:
            state.stats.add(errors_injected=1)
            headers = {"Retry-After": "1"} if code == 503 else None
            return json_response({"error": "injected", "message": "sandbox fault"}, code, headers)
        return None

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        """Answer HTTP errors with JSON."""
        name = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, name, exc.description or name)

    @app.errorhandler(BadParam)
    def _bad_param(exc: BadParam) -> Response:
        """Answer unusable query parameters with 400."""
        return error_response(400, "bad_request", str(exc))

    @app.get("/v1/schools")
    def schools() -> Response:
        """List every school."""
        version = state.faults.current.schema_version
        return json_response({"schema_version": version, "schools": district.schools()})

    @app.get("/v1/schools/<school_id>/classes")
    def classes(school_id: str) -> Response:
        """List one school's classes."""
        if not district.has_school(school_id):
            return error_response(404, "unknown_school", "no such school", school_id=school_id)
        body = {"schema_version": state.faults.current.schema_version, "school_id": school_id,
                "classes": district.classes(school_id)}
        return json_response(body)

    @app.get("/v1/schools/<school_id>/roster")
    def roster(school_id: str) -> Response:
        """Serve one page of a school's people."""
        if not district.has_school(school_id):
            return error_response(404, "unknown_school", "no such school", school_id=school_id)
        size = int_param("page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        start = int_param("page_token", 0, 0, 10**9)
        try:
            people, nxt = district.roster_page(school_id, start, size)
        except ValueError as exc:
            raise BadParam(f"page_token: {exc}") from None
        current = state.faults.current
        if current.alters_people:
            previous = None
            if current.duplicates and start > 0:
                before, _ = district.roster_page(school_id, start - 1, 1)
                previous = before[0] if before else None
            gov = district.school_info(school_id).governorate
            people = roster_faults(people, current, gov, previous)
        state.stats.add(pages=1, people=len(people))
        return json_response({
            "schema_version": current.schema_version, "school_id": school_id,
            "people": people, "next_page_token": None if nxt is None else str(nxt),
        })

    @app.get("/v1/changes")
    def changes() -> Response:
        """Serve the delta feed after a cursor."""
        cursor = int_param("cursor", 0, 0, 10**12)
        limit = int_param("limit", DEFAULT_CHANGE_LIMIT, 1, MAX_PAGE_SIZE)
        try:
            page = district.changes_after(cursor, limit)
        except ValueError as exc:
            raise BadParam(str(exc)) from None
        next_cursor = str(page[-1]["seq"]) if page else str(cursor)
        current = state.faults.current
        if current.alters_people:
            govs = {info.id: info.governorate for info in district.infos}
            page = change_faults(page, current, govs)
        state.stats.add(changes=len(page))
        return json_response({"schema_version": current.schema_version, "changes": page,
                              "next_cursor": next_cursor})

    return app
