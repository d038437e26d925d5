"""Africa's Talking webhooks: verify, drop duplicates, transition, record, answer fast."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from digests.dlr import InvalidReport, Report, apply_report, read_report
from digests.inbound import handle
from digests.outbox import RetryPolicy
from core.runtime import runtime_of
from shaping.operators import InvalidMsisdn, to_e164

bp = Blueprint("sms_webhooks", __name__)


class BadReport(ValueError):
    """Signal a delivery report missing a field or with an unknown status."""


def _report(form: dict[str, str]) -> Report:
    try:
        return read_report(form)
    except InvalidReport as exc:
        raise BadReport(str(exc)) from exc


@bp.post("/at/delivery-reports")
def delivery_report() -> tuple[Response, int]:
    """Apply one AT delivery report idempotently and monotonically (token: gateway.callbacks)."""
    try:
        report = _report(request.form.to_dict())
    except BadReport as exc:
        return jsonify({"error": str(exc)}), 400
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        applied = apply_report(session, report, RetryPolicy.from_config(rt.config), rt.clock(),
                               rt.config.secret_key)
    return jsonify({"applied": applied.value}), 200


@bp.post("/at/inbound")
def inbound() -> tuple[Response, int]:
    """Apply a STOP / START / HELP / DATA keyword sent to the short code, once per AT id (token: guard)."""
    try:
        msisdn = to_e164(request.form.get("from", ""))
    except InvalidMsisdn:
        return jsonify({"error": "bad from"}), 400
    provider_id = request.form.get("id", "").strip()[:100] or None
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        handled = handle(session, msisdn, request.form.get("text", ""), rt.clock(), provider_id,
                         rt.config)
    if handled.duplicate:  # 200 all the same: the operator stops retrying
        return jsonify({"keyword": handled.keyword.value, "duplicate": True}), 200
    return jsonify({"keyword": handled.keyword.value}), 200
