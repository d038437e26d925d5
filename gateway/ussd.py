"""The Africa's Talking USSD callback: verify, validate, hand the hop to the USSD service."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from core.contacts import InvalidMsisdn, normalise
from core.runtime import runtime_of
from ussd import metrics, service
from core.i18n import Texts, _

bp = Blueprint("ussd", __name__)
MAX_TEXT = 2000
MAX_ID = 100
MAX_BODY = 64 * 1024  # a hop's fields with MAX_TEXT of Arabic, percent-encoded, fit easily


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain", content_type="text/plain; charset=utf-8")


def _form() -> dict[str, str] | None:
    """Return the callback's fields; None when the body is too large to be a USSD hop.

    AT posts application/x-www-form-urlencoded: parsed directly (werkzeug's general form
    parser was 5 % of a worker's time at the spike). Anything else goes through Flask.
    """
    if request.mimetype != "application/x-www-form-urlencoded":
        return request.form.to_dict()
    if (request.content_length or 0) > MAX_BODY:
        return None
    return dict(parse_qsl(request.get_data(cache=False, as_text=True), keep_blank_values=True))


@bp.post("/at/ussd")
def at_ussd() -> Response:
    """Answer one USSD hop with `CON …` or `END …` (text/plain)."""
    rt = runtime_of(current_app)  # source and token were checked by gateway.callbacks.guard
    form = _form()
    if form is None:
        return _plain("request too large", 413)
    missing = [f for f in ("sessionId", "serviceCode", "phoneNumber", "text") if f not in form]
    if missing:
        return _plain(f"missing fields: {', '.join(missing)}", 400)
    session_id, text = form["sessionId"].strip(), form["text"]
    if not session_id or len(session_id) > MAX_ID or not session_id.isprintable():
        return _plain("bad sessionId", 400)
    try:
        msisdn = normalise(form["phoneNumber"])
    except InvalidMsisdn:
        return _plain("bad phoneNumber", 400)
    if len(text) > MAX_TEXT:
        return _plain("END " + Texts("ar")(_("Session too long. Please dial again.")))
    hop = service.Hop(session_id, form["serviceCode"][:32], msisdn,
                      form.get("networkCode", "")[:16], text)
    started = time.perf_counter()
    try:
        screen = service.handle(hop, rt)
    except (RedisError, SQLAlchemyError):
        # Nothing was stored for this hop; say so plainly instead of a 5xx the phone shows as an error.
        current_app.logger.exception("USSD hop failed for session %s", session_id)
        metrics.record(rt.redis, rt.clock(), (time.perf_counter() - started) * 1000, failed=True)
        return _plain("END " + Texts("ar")(_("Service busy. Nothing was saved. Please dial again in a minute.")))
    metrics.record(rt.redis, rt.clock(), (time.perf_counter() - started) * 1000, failed=False)
    return _plain(screen.body())
