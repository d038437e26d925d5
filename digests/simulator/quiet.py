"""A werkzeug request handler that does not log every request (thousands per second)."""

from __future__ import annotations

from typing import Any

from werkzeug.serving import WSGIRequestHandler


class QuietHandler(WSGIRequestHandler):
    """Log errors only; keep connections alive for clients that reuse them."""

    protocol_version = "HTTP/1.1"

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None
