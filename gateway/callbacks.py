"""The guard in front of every `/at/*` callback: source address, then that callback's token.

Deny by default: a path under `/at/` with no token configured for it is refused, so a new
callback cannot be reached until it is given its own token here and in core/config.py.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence

from flask import Response, current_app, request

from core.config import Config
from core.runtime import runtime_of

PREFIX = "/at/"
CALLBACKS = ("ussd", "delivery-reports", "inbound")  # each has its own HUDOOR_*_CALLBACK_TOKEN
TOKEN_HEADER = "X-Hudoor-Token"  # preferred: a header stays out of access logs
FORBIDDEN = "forbidden"


def token_ok(given: str, expected: str) -> bool:
    """Compare a callback token in constant time; an empty expected token matches nothing."""
    if not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def source_allowed(remote: str | None,
                   networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    """Tell whether the caller's address is on the allow-list (empty: any address)."""
    if not networks:
        return True
    try:
        addr = ipaddress.ip_address(remote or "")
    except ValueError:
        return False
    return any(addr in net for net in networks)


def body_within_limit() -> Response | None:
    """Refuse a streamed (chunked) body that reaches MAX_CONTENT_LENGTH (413).

    Werkzeug stops reading such a body at the limit without saying so: a form parsed from it
    would be silently truncated. The body is read once here, at most the limit, and cached
    for the view; a body with a Content-Length over the limit is refused by werkzeug itself.
    """
    limit = request.max_content_length
    if request.content_length is not None or limit is None or request.method in ("GET", "HEAD"):
        return None
    if len(request.get_data(cache=True)) >= limit:
        return Response("request too large", status=413, mimetype="text/plain")
    return None


def allowed(cfg: Config, name: str, remote: str | None, given: str) -> bool:
    """Tell whether callback `name` may be answered: the caller's address is on the
    allow-list and `given` is that callback's own token (header, else `?token=`)."""
    return source_allowed(remote, cfg.callback_networks) and token_ok(given, cfg.callback_token(name))


def guard() -> Response | None:
    """Refuse a callback from outside the allow-list or without its own token (403).

    The Flask side of the check; gateway/ussd_wsgi.py makes the same `allowed` call for the
    USSD hops it answers below Flask.
    """
    if not request.path.startswith(PREFIX):
        return None
    given = request.headers.get(TOKEN_HEADER) or request.args.get("token", "")
    if not allowed(runtime_of(current_app).config, request.path[len(PREFIX):],
                   request.remote_addr, given):
        return Response(FORBIDDEN, status=403, mimetype="text/plain")
    return None
