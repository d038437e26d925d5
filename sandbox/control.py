"""Sandbox-only control endpoints under /sandbox/ (not part of the upstream contract)."""

from typing import Any

from flask import Blueprint, Response, current_app, request

from sandbox.churn import apply_random_changes
from sandbox.web import error_response, json_response, sandbox_state
from sandbox.faults import Faults
from sandbox.write_faults import WriteFaults

control = Blueprint("sandbox_control", __name__, url_prefix="/sandbox")


def _body() -> dict[str, Any]:
    """Return the request's JSON object body, raising ValueError if it is not one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


@control.get("/faults")
def get_faults() -> Response:
    """Show the faults in force."""
    return json_response(sandbox_state(current_app).faults.current.to_dict())


@control.post("/faults")
def set_faults() -> Response:
    """Replace the faults in force; an empty object switches them all off."""
    try:
        faults = Faults.from_dict(_body())
    except (ValueError, TypeError) as exc:
        return error_response(400, "bad_faults", str(exc))
    return json_response(sandbox_state(current_app).faults.set(faults).to_dict())


@control.post("/changes")
def post_changes() -> Response:
    """Apply one overlay operation (leave, status, move, rename, upsert, random)."""
    district = sandbox_state(current_app).district
    try:
        body = _body()
        op = body.get("op")
        if op == "leave":
            made = [district.leave(_text(body, "person_id"))]
        elif op == "status":
            made = [district.set_status(_text(body, "person_id"), _text(body, "status"))]
        elif op == "move":
            made = [district.move(_text(body, "person_id"), _text(body, "class_id"))]
        elif op == "rename":
            name = body.get("display_name", body.get("name"))
            made = [district.rename(_text(body, "person_id"), name)]
        elif op == "upsert":
            made = [district.upsert(body.get("person"), _text(body, "school_id"))]
        elif op == "random":
            n, seed = body.get("n", 100), body.get("seed", 0)
            if not isinstance(n, int) or not isinstance(seed, int) or not 0 <= n <= 100_000:
                raise ValueError("random needs integer n (0..100000) and seed")
            made = apply_random_changes(district, n, seed)  # holds the district's lock throughout
        else:
            raise ValueError("op must be leave, status, move, rename, upsert or random")
    except KeyError as exc:
        return error_response(404, "not_found", str(exc.args[0]) if exc.args else "not found")
    except ValueError as exc:
        return error_response(400, "bad_change", str(exc))
    body_out = {"changes": made if len(made) <= 1000 else made[-1000:],
                "applied": len(made), "last_seq": district.last_seq}
    return json_response(body_out, 201)


def _text(body: dict[str, Any], key: str) -> str:
    """Return a required string field of a control request."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key} is required")
    return value


@control.get("/stats")
def stats() -> Response:
    """Show what has been served, and the size of the district."""
    state = sandbox_state(current_app)
    district = state.district
    return json_response({
        **state.stats.to_dict(),
        "schools": len(district.infos),
        "base_population": district.base_population,
        "schools_generated": district.generated,
        "last_seq": district.last_seq,
        "faults": state.faults.current.to_dict(),
        "writes": state.attendance.counts.as_dict(),
        "write_faults": state.write_faults.current.to_dict(),
    })


@control.get("/write-faults")
def get_write_faults() -> Response:
    """Show the write-back faults in force."""
    return json_response(sandbox_state(current_app).write_faults.current.to_dict())


@control.post("/write-faults")
def set_write_faults() -> Response:
    """Replace the write-back faults in force; an empty object switches them all off."""
    try:
        faults = WriteFaults.from_dict(_body())
    except (ValueError, TypeError) as exc:
        return error_response(400, "bad_faults", str(exc))
    return json_response(sandbox_state(current_app).write_faults.set(faults).to_dict())


@control.post("/corrupt")
def corrupt_record() -> Response:
    """Silently change one stored attendance record of a school-day (a corruption drill)."""
    try:
        body = _body()
        school, day = _text(body, "school_id"), _text(body, "day")
    except ValueError as exc:
        return error_response(400, "bad_request", str(exc))
    changed = sandbox_state(current_app).attendance.corrupt(school, day, body.get("class_id"))
    if not changed:
        return error_response(404, "not_found", "nothing held for that school-day")
    return json_response({"corrupted": True})
