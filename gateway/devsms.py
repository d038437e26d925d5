"""`/dev/sms`: the development stack's SMS inbox, read from the operator simulator (not in production).

The simulator (``hudoor simulator serve``, started by ``make run``) keeps the last messages that
reached the simulated operators, with encoding, segments and delivery state; this page shows them.
"""

from __future__ import annotations

from typing import Any

import requests
from flask import Blueprint, abort, current_app, render_template, request

from core.runtime import runtime_of

bp = Blueprint("devsms", __name__)


@bp.before_request
def _not_in_production() -> None:
    if runtime_of(current_app).config.env == "production":
        abort(404)


def read_inbox(base_url: str, to: str | None) -> tuple[list[dict[str, Any]], str]:
    """Return the simulator's inbox (newest first) and a problem to show, if any."""
    params = {"to": to} if to else {}
    try:
        answer = requests.get(f"{base_url.rstrip('/')}/inbox", params=params, timeout=3)
        answer.raise_for_status()
        return list(answer.json()["messages"]), ""
    except (requests.RequestException, ValueError, KeyError) as exc:
        return [], f"the operator simulator at {base_url} did not answer ({type(exc).__name__})"


@bp.get("/dev/sms")
def inbox() -> str:
    """Render what reached the simulated operators, for one MSISDN with ?to=."""
    cfg = runtime_of(current_app).config
    to = request.args.get("to", "").strip() or None
    if cfg.sms_provider != "africastalking" or not cfg.at_base_url:
        messages, problem = [], ("SMS go to the console provider here (HUDOOR_SMS_PROVIDER="
                                 f"{cfg.sms_provider}): they are only logged. `make run` sends "
                                 "them to the operator simulator, whose inbox this page shows.")
    else:
        messages, problem = read_inbox(cfg.at_base_url, to)
    return render_template("dev_sms.html", messages=messages, problem=problem, to=to or "")
