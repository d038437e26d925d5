"""`POST /at/ussd` answered at the WSGI layer, below Flask's request machinery (decision 0036).

A hop is a few hundred bytes of urlencoded fields and a text/plain answer: it needs no
request context, no before_request hooks, no session and no URL routing, which were a sixth
of a hop's CPU. `UssdDispatch` wraps the Flask app's `wsgi_app`: an urlencoded POST to
exactly `/at/ussd` is guarded (gateway.callbacks: allow-list, then the `ussd` token), its
body read once within the limit, parsed as parse_qsl would and answered by gateway.ussd.answer —
the same function the Flask view calls. Every other request goes to Flask untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask

from core.runtime import runtime_of
from gateway import callbacks, ussd

PATH = callbacks.PREFIX + "ussd"
FORM = "application/x-www-form-urlencoded"
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _status(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


def fields(text: str) -> Iterator[tuple[str, str]]:
    """The name/value pairs of urlencoded `text`, as parse_qsl(text, keep_blank_values=True)
    gives them, without its per-field calls for the common field that needs no unquoting
    (no '%', no '+': a hop's session id, service code and most texts). Invalid UTF-8 in a
    percent-escape becomes U+FFFD, as parse_qsl's default errors="replace" makes it."""
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name, errors="replace")
        if "%" in value or "+" in value:
            value = unquote_plus(value, errors="replace")
        yield name, value


def _query_token(environ: dict[str, Any]) -> str:
    """The first `token` of the query string, as Flask's request.args.get would give it."""
    query = environ.get("QUERY_STRING", "")
    if "token" not in query:
        return ""
    return next((v for k, v in fields(query) if k == "token"), "")


def _content_length(environ: dict[str, Any]) -> int | None:
    """The declared length; None for a chunked body (its Content-Length, if any, is not
    the body's: werkzeug ignores it too)."""
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        return None
    try:
        return max(0, int(environ["CONTENT_LENGTH"]))
    except (KeyError, ValueError):
        return None


def read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    """Read the request body once; None when it is over `limit` bytes (a 413).

    A body without a Content-Length is read only when the server says the stream ends
    (`wsgi.input_terminated`, a chunked body) and then at most `limit` + 1 bytes; otherwise
    it is empty, as werkzeug treats it.
    """
    length = _content_length(environ)
    stream = environ["wsgi.input"]
    if length is None:
        if not environ.get("wsgi.input_terminated"):
            return b""
        data: bytes = stream.read(limit + 1)
        return None if len(data) > limit else data
    if length > limit:
        return None
    return stream.read(length) if length else b""


class UssdDispatch:
    """The app's WSGI callable: hops straight to gateway.ussd.answer, the rest to Flask."""

    def __init__(self, app: Flask, flask_wsgi: WsgiApp) -> None:
        self.app, self.flask_wsgi = app, flask_wsgi

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST"
                or environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != FORM):
            return self.flask_wsgi(environ, start_response)  # multipart hops too: the Flask view
        try:
            code, text = self._hop(environ)
        except Exception:
            if self.app.testing or self.app.config.get("PROPAGATE_EXCEPTIONS"):
                raise
            # Flask's own line for an unhandled error, so logs read the same either way.
            self.app.logger.exception("Exception on %s [POST]", PATH)
            code, text = 500, "internal server error"
        data = text.encode()
        start_response(_status(code), [("Content-Type", "text/plain; charset=utf-8"),
                                       ("Content-Length", str(len(data)))])
        return [data]

    def _hop(self, environ: dict[str, Any]) -> tuple[int, str]:
        rt = runtime_of(self.app)
        cfg = rt.config
        given = environ.get("HTTP_X_HUDOOR_TOKEN") or _query_token(environ)
        if not callbacks.allowed(cfg, "ussd", environ.get("REMOTE_ADDR"), given):
            return 403, callbacks.FORBIDDEN
        body = read_body(environ, min(ussd.MAX_BODY, cfg.max_body_bytes))
        form = None if body is None else dict(fields(body.decode("utf-8", "replace")))
        return ussd.answer(rt, form, self.app.logger)
