"""Africa's Talking webhooks: verify, drop duplicates, transition, record, answer fast."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request

from digests.dlr import Report, apply_report
from digests.inbound import handle
from digests.outbox import RetryPolicy
from digests.providers.codes import UnknownDlrStatus, dlr_event
from gateway.app import runtime_of
from shaping.operators import InvalidMsisdn, to_e164

bp = Blueprint("sms_webhooks", __name__)


def _authorised() -> bool:
    expected = runtime_of(current_app).config.callback_token
    given = request.args.get("token", "")
    return hmac.compare_digest(given.encode(), expected.encode())


class BadReport(ValueError):
    """Signal a delivery report missing a field or with an unknown status."""


def _report(form: dict[str, str]) -> Report:
    missing = [name for name in ("id", "status", "phoneNumber") if not form.get(name)]
    if missing:
        raise BadReport("missing " + ", ".join(missing))
    try:
        dlr_event(form["status"], form.get("failureReason"))
        retry = int(form.get("retryCount") or 0)
    except (UnknownDlrStatus, ValueError) as exc:
        raise BadReport(f"bad field: {exc}") from exc
    return Report(form["id"][:100], form["status"], form["phoneNumber"],
                  form.get("networkCode") or None, form.get("failureReason") or None, retry)


@bp.post("/at/delivery-reports")
def delivery_report() -> tuple[Response, int]:
    """Apply one AT delivery report idempotently and monotonically."""
    if not _authorised():
        return jsonify({"error": "forbidden"}), 403
    try:
        report = _report(request.form.to_dict())
    except BadReport as exc:
        return jsonify({"error": str(exc)}), 400
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        applied = apply_report(session, report, RetryPolicy.from_config(rt.config), rt.clock())
    return jsonify({"applied": applied.value}), 200


@bp.post("/at/inbound")
def inbound() -> tuple[Response, int]:
    """Apply a STOP / START / HELP keyword sent to the (zero-rated) short code, once per AT id."""
    if not _authorised():
        return jsonify({"error": "forbidden"}), 403
    try:
        msisdn = to_e164(request.form.get("from", ""))
    except InvalidMsisdn:
        return jsonify({"error": "bad from"}), 400
    provider_id = request.form.get("id", "").strip()[:100] or None
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        handled = handle(session, msisdn, request.form.get("text", ""), rt.clock(), provider_id)
    if handled.duplicate:  # 200 all the same: the operator stops retrying
        return jsonify({"keyword": handled.keyword.value, "duplicate": True}), 200
    return jsonify({"keyword": handled.keyword.value}), 200
