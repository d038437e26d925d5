"""The Africa's Talking USSD callback: verify, validate, hand the hop to the USSD service.

`answer` is the hop's one implementation. gateway/ussd_wsgi.py calls it for every urlencoded
`POST /at/ussd` below Flask (decision 0036); the Flask view here serves the same path for
any other body encoding, and /dev/phone calls `answer` directly.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, current_app, request
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from core import capture_load
from core.contacts import InvalidMsisdn, normalise
from core.runtime import Runtime, runtime_of
from ussd import service
from ussd.hop_metrics import HopRecorder
from core.i18n import Texts, _

bp = Blueprint("ussd", __name__)
MAX_TEXT = 2000
MAX_ID = 100
MAX_BODY = 64 * 1024  # a hop's fields with MAX_TEXT of Arabic, percent-encoded, fit easily
FIELDS = ("sessionId", "serviceCode", "phoneNumber", "text")
HOPS = HopRecorder()  # this process's hop latencies and failures, for the wall


def answer(rt: Runtime, form: dict[str, str] | None, log: logging.Logger) -> tuple[int, str]:
    """Answer one hop's fields with (HTTP status, text/plain body): `CON …`, `END …` or a 4xx.

    `form` is None when the body was too large to be a USSD hop. The caller has checked the
    source address and the callback token (gateway.callbacks).
    """
    if form is None:
        return 413, "request too large"
    missing = [f for f in FIELDS if f not in form]
    if missing:
        return 400, f"missing fields: {', '.join(missing)}"
    session_id, text = form["sessionId"].strip(), form["text"]
    if not session_id or len(session_id) > MAX_ID or not session_id.isprintable():
        return 400, "bad sessionId"
    try:
        msisdn = normalise(form["phoneNumber"])
    except InvalidMsisdn:
        return 400, "bad phoneNumber"
    if len(text) > MAX_TEXT:
        return 200, "END " + Texts("ar")(_("Session too long. Please dial again."))
    hop = service.Hop(session_id, form["serviceCode"][:32], msisdn,
                      form.get("networkCode", "")[:16], text)
    started = time.perf_counter()
    try:
        screen = service.handle(hop, rt)
    except (RedisError, SQLAlchemyError):
        # Nothing was stored for this hop; say so plainly instead of a 5xx the phone shows as an error.
        log.exception("USSD hop failed for session %s", session_id)
        _count(rt, started, error=True)
        return 200, "END " + Texts("ar")(_("Service busy. Nothing was saved. Please dial again in a minute."))
    _count(rt, started, error=False)
    return 200, screen.body()


def _count(rt: Runtime, started: float, *, error: bool) -> None:
    limits = capture_load.Limits(rt.config.shed_hops_per_second, rt.config.shed_slow_ms)
    HOPS.record(rt.redis, rt.clock(), (time.perf_counter() - started) * 1000, error=error,
                limits=limits)


@bp.post("/at/ussd")
def at_ussd() -> Response:
    """Answer one USSD hop with `CON …` or `END …` (text/plain).

    Reached for bodies other than application/x-www-form-urlencoded (multipart); the
    urlencoded hops AT posts are answered by gateway/ussd_wsgi.py before Flask.
    """
    # source and token were checked by gateway.callbacks.guard
    too_large = (request.content_length or 0) > MAX_BODY
    status, body = answer(runtime_of(current_app), None if too_large else request.form.to_dict(),
                          current_app.logger)
    return Response(body, status=status, content_type="text/plain; charset=utf-8")
