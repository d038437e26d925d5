"""Sign-in pages: staff number → a code by SMS to the bound SIM → a session; and sign-out.

The rules (limits, hashing, audit) are in core.console_signin and core.console_sessions; the
code goes out through the SMS outbox like every other message (urgent, not held for the
quiet hours: the holder asked for it this minute and it lives five minutes; decision 22).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, g, redirect, render_template, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import update

from core import console_sessions, console_signin
from core.console_signin import Outcome
from core.i18n import Texts
from core.rbac import Permission
from core.runtime import runtime_of
from digests.models import OutboxMessage
from digests.outbox import Draft, enqueue
from digests.services import requeue_from_outbox
from gateway.console import console_bp
from gateway.console.auth import public, requires, set_session_cookie
from shaping.policy import Priority

log = logging.getLogger(__name__)
CODE_KIND = "desk_sign_in_code"
REDACTED = "[desk sign-in code, used]"  # what the outbox keeps once the code has worked


@dataclass(frozen=True)
class CodeDraft(Draft):
    """A sign-in code SMS: one outbox row per code (a Draft's key allows one per number a day)."""

    code_id: int = 0

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.code_id}"


def code_text(code: str, lang: str) -> str:
    """Return the SMS that carries a sign-in code (ASCII digits: it is typed on a keyboard)."""
    t = Texts(lang)
    return t("Hudoor desk sign-in code: {code}. Valid 5 minutes. Never give it to anyone.",
             code=code)


def _address() -> str:
    return request.remote_addr or "unknown"


@console_bp.get("/sign-in")
@public
def sign_in() -> Any:
    """Ask for a staff number."""
    if g.principal is not None:
        return redirect(url_for("console.home"))
    return render_template("desk/sign_in.html")


@console_bp.post("/sign-in")
@public
def request_code() -> Any:
    """Send a code to the number's bound SIM; answer the same whether or not the number is known."""
    number = request.form.get("number", "").strip()[:64]
    if not number:
        return render_template("desk/sign_in.html", problem="missing"), 400
    rt = runtime_of(current_app)
    now = rt.clock()
    with rt.sessions() as session, session.begin():
        result = console_signin.request_code(session, rt.config.secret_key, number, _address(), now)
        if result.outcome is Outcome.SENT:
            assert result.holder is not None and result.code is not None
            enqueue(session, [CodeDraft(CODE_KIND, rt.today(), result.holder.msisdn,
                                        result.holder.language,
                                        code_text(result.code, result.holder.language),
                                        Priority.URGENT, now, code_id=result.code_id or 0)], now)
    if result.outcome is Outcome.LIMITED:
        return render_template("desk/sign_in.html", problem="limited"), 429
    if result.outcome is Outcome.SENT:
        try:  # after the commit, so the sender sees the row
            requeue_from_outbox(rt.sessions, rt.redis, now)
        except RedisError as exc:  # the outbox has it; the scheduler's requeue sends it
            log.warning("desk sign-in code queued in SQL only, Redis unreachable: %s",
                        type(exc).__name__)
    return render_template("desk/code.html", number=number)


@console_bp.post("/sign-in/code")
@public
def submit_code() -> Any:
    """Check the code; on success open a session and go to the console's home."""
    number = request.form.get("number", "").strip()[:64]
    code = request.form.get("code", "").strip()[:20]
    rt = runtime_of(current_app)
    now = rt.clock()
    with rt.sessions() as session, session.begin():
        result = console_signin.verify(session, rt.config.secret_key, number, code, _address(), now)
        token = None
        if result.outcome is Outcome.RIGHT and result.holder is not None:
            token, _row = console_sessions.open_session(session, result.holder, now)
            # The outbox kept the text to send it; a used code need not stay readable there.
            session.execute(update(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"{CODE_KIND}:{result.code_id}")
                .values(text=REDACTED))
    if token is None:
        status = 429 if result.outcome is Outcome.LIMITED else 400
        return render_template("desk/code.html", number=number,
                               problem=result.outcome.value), status
    resp = redirect(url_for("console.home"), code=303)
    set_session_cookie(resp, token)
    return resp


@console_bp.post("/sign-out")
@requires(Permission.DESK_HOME)
def sign_out() -> Response:
    """End this session now (audited)."""
    rt = runtime_of(current_app)
    with rt.sessions() as session, session.begin():
        console_sessions.end(session, g.principal.session_id, actor=g.principal.subject,
                             reason="signed out", now=rt.clock())
    resp = redirect(url_for("console.sign_in"), code=303)
    resp.delete_cookie("hudoor_desk", path="/desk")
    return resp
