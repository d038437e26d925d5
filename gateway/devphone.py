"""`/dev/phone`: a feature phone in the browser that dials the USSD service (not in production)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from gateway import ussd
from core.runtime import runtime_of

bp = Blueprint("devphone", __name__, static_folder="static/devphone",
               static_url_path="/dev/phone/static")
FIELDS = ("sessionId", "phoneNumber", "networkCode", "text")
# (key, name, national prefix, AT network code, a valid MSISDN to pre-fill)
OPERATORS = (
    ("vodafone", "Vodafone", "010", "60202", "+201001234567"),
    ("orange", "Orange", "012", "60201", "+201201234567"),
    ("etisalat", "Etisalat", "011", "60203", "+201101234567"),
    ("we", "WE", "015", "60204", "+201501234567"),
)


@bp.before_request
def _not_in_production() -> None:
    """Hide every route of this blueprint (static files included) in production."""
    if runtime_of(current_app).config.env == "production":
        abort(404)


@bp.get("/dev/phone")
def page() -> str:
    """Render the phone page."""
    return render_template("dev_phone.html", operators=OPERATORS,
                           service_code=runtime_of(current_app).config.ussd_code)


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(error=message), status


def parse_hop(payload: Any) -> dict[str, str] | None:
    """Return the hop's fields as AT would post them, or None when the JSON is not a hop."""
    if not isinstance(payload, dict) or not all(isinstance(payload.get(f), str) for f in FIELDS):
        return None
    return {**{f: payload[f] for f in FIELDS},
            "serviceCode": runtime_of(current_app).config.ussd_code}


@bp.post("/dev/phone/hop")
def hop() -> tuple[Response, int]:
    """Run one hop through the real `/at/ussd` hop and answer `{kind, text}` as JSON."""
    form = parse_hop(request.get_json(silent=True))
    if form is None:
        return _error("expected JSON {sessionId, phoneNumber, networkCode, text}, all strings", 400)
    # The same hop AT's callback runs (past its token guard): no second copy of validation or flows.
    status, body = ussd.answer(runtime_of(current_app), form, current_app.logger)
    if status != 200:
        return _error(body, status)
    kind, _sep, text = body.partition(" ")
    return jsonify(kind=kind, text=text), 200
