"""Run the sandbox SIS on werkzeug's threaded server, in the foreground or a background thread."""

import threading
from types import TracebackType

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.app import create_sandbox_app
from sandbox.district import District
from sandbox.faults import Faults, FaultSwitch
from sandbox.web import sandbox_state


class QuietHandler(WSGIRequestHandler):
    """A request handler that does not log every request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the per-request access log line."""


def build_server(app: Flask, host: str, port: int, *, quiet: bool = True) -> BaseWSGIServer:
    """Return a bound threaded werkzeug server for app."""
    handler = QuietHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    server.block_on_close = False  # type: ignore[attr-defined]
    return server


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5050, *, quiet: bool = False) -> None:
    """Serve app until interrupted."""
    server = build_server(app, host, port, quiet=quiet)
    try:
        server.serve_forever()
    finally:
        server.server_close()


class SandboxServer:
    """A sandbox SIS on a free 127.0.0.1 port in a background thread, as a context manager."""

    def __init__(self, district: District | None = None, faults: Faults | None = None, *,
                 token: str | None = None, host: str = "127.0.0.1") -> None:
        """Prepare the app; the server starts on entering the context."""
        self.district = district if district is not None else District.demo()
        self.app = create_sandbox_app(self.district, faults, token=token)
        self.faults: FaultSwitch = sandbox_state(self.app).faults
        self.write_faults = sandbox_state(self.app).write_faults
        self.attendance = sandbox_state(self.app).attendance
        self.host = host
        self.url = ""
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "SandboxServer":
        """Start serving and return self with .url set."""
        self._server = build_server(self.app, self.host, 0)
        self.url = f"http://{self.host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-sis", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._server.server_close()
        self._server = self._thread = None
