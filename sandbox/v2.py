"""The sandbox SIS's contract v2 endpoints: attendance write-back and read, with write faults."""

from __future__ import annotations

import re
import time
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, request

from sandbox.attendance_store import class_day_json, corrupted
from sandbox.web import error_response, json_response, sandbox_state
from sandbox.write_faults import WriteFaults
from core.writeback.fingerprint import ClassDay

v2 = Blueprint("sandbox_v2", __name__)
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_MARKS = 500


class BadWrite(ValueError):
    """A write body the contract does not allow (HTTP 400)."""


def _day(raw: str) -> str:
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise BadWrite("day must be YYYY-MM-DD") from None


def parse_write(body: Any, class_id: str, day: str) -> ClassDay:
    """Validate a write body against the path; return the class-day it carries."""
    if not isinstance(body, dict) or body.get("schema_version") != "2":
        raise BadWrite("the body must be a JSON object with schema_version \"2\"")
    revision, size, marks = body.get("revision"), body.get("size"), body.get("marks")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise BadWrite("revision must be a positive integer")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= 10_000:
        raise BadWrite("size must be an integer between 0 and 10000")
    if body.get("key") != f"{class_id}:{day}:{revision}":
        raise BadWrite("key must be <class_id>:<day>:<revision> of this write")
    if not isinstance(marks, list) or len(marks) > MAX_MARKS:
        raise BadWrite(f"marks must be a list of at most {MAX_MARKS}")
    pairs: list[tuple[str, str]] = []
    for mark in marks:
        if not isinstance(mark, dict) or set(mark) != {"student_id", "status"}:
            raise BadWrite("each mark is {student_id, status}")
        sid, status = mark["student_id"], mark["status"]
        if not isinstance(sid, str) or not ID.match(sid) or status not in ("absent", "late"):
            raise BadWrite("student_id must be an id; status absent or late")
        pairs.append((sid, status))
    if len({s for s, _ in pairs}) != len(pairs):
        raise BadWrite("a student appears twice in one write")
    cd = ClassDay(class_id, revision, size, tuple(sorted(pairs)))
    if body.get("digest") != cd.digest():
        raise BadWrite("digest does not match the content")
    return cd


def _check_school(school_id: str, class_id: str | None = None) -> Response | None:
    district = sandbox_state(current_app).district
    if not district.has_school(school_id):
        return error_response(404, "unknown_school", "no such school", school_id=school_id)
    if class_id is not None:
        try:
            owner = district.class_school(class_id)
        except KeyError:
            owner = None
        if owner != school_id:
            return error_response(404, "unknown_class", "no such class in this school",
                                  class_id=class_id)
    return None


@v2.put("/v2/schools/<school_id>/attendance/<day>/classes/<class_id>")
def put_class_day(school_id: str, day: str, class_id: str) -> Response:
    """Store one class-day's attendance, idempotently by its key; misbehave per write faults."""
    state = sandbox_state(current_app)
    missing = _check_school(school_id, class_id)
    if missing is not None:
        return missing
    try:
        day = _day(day)
        cd = parse_write(request.get_json(silent=True), class_id, day)
    except BadWrite as exc:
        return error_response(400, "bad_write", str(exc))
    store, fate = state.attendance, state.write_faults.draw()
    store.counts.received += 1
    faults: WriteFaults = state.write_faults.current
    if fate.error is not None:
        return json_response({"error": "injected", "message": "sandbox fault"}, fate.error)
    result = "applied"
    if fate.drop:
        store.counts.dropped += 1
    elif fate.reorder:
        store.park(school_id, day, cd)
    else:
        result = store.apply(school_id, day, corrupted(cd) if fate.corrupt else cd)
        if fate.corrupt:
            store.counts.corrupted += 1
        if fate.duplicate:
            store.apply(school_id, day, cd if not fate.corrupt else corrupted(cd))
        store.release_parked()
    if fate.timeout:
        time.sleep(faults.timeout_ms / 1000)
    elif fate.slow:
        time.sleep(faults.slow_ms / 1000)
    return json_response({"schema_version": "2", "key": f"{class_id}:{day}:{cd.revision}",
                          "result": "applied" if fate.drop or fate.reorder else result})


@v2.get("/v2/schools/<school_id>/attendance/<day>")
def get_school_day(school_id: str, day: str) -> Response:
    """Return every class-day record held for a school-day."""
    state = sandbox_state(current_app)
    missing = _check_school(school_id)
    if missing is not None:
        return missing
    try:
        day = _day(day)
    except BadWrite as exc:
        return error_response(400, "bad_request", str(exc))
    if state.write_faults.current.error_rate and state.write_faults.draw().error:
        return json_response({"error": "injected", "message": "sandbox fault"}, 503)
    classes = [class_day_json(cd) for cd in state.attendance.read(school_id, day)]
    return json_response({"schema_version": "2", "school_id": school_id, "day": day,
                          "classes": classes})
