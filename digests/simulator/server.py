"""An Africa's Talking look-alike over HTTP: the SDK's real requests in, DLRs posted back."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
import time
from types import TracebackType
from typing import Any

import requests
from werkzeug.wrappers import Request, Response
from werkzeug.serving import BaseWSGIServer, make_server

from digests.simulator.network import Network
from digests.simulator.quiet import QuietHandler


def create_simulator_app(network: Network) -> Callable[..., Iterable[bytes]]:
    """Build the simulator's WSGI app around one Network (plain werkzeug: it must be fast)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        req = Request(environ)
        if req.method == "POST" and req.path == "/version1/messaging":
            if not req.headers.get("apiKey"):
                return _json({"error": "missing apiKey"}, 401)(environ, start_response)
            to, text = req.form.get("to", ""), req.form.get("message", "")
            recipients = [network.submit(n.strip(), text) for n in to.split(",") if n.strip()]
            sent = sum(1 for r in recipients if r["statusCode"] == 101)
            body = {"SMSMessageData": {"Message": f"Sent to {sent}/{len(recipients)}",
                                       "Recipients": recipients}}
            return _json(body, 201)(environ, start_response)
        if req.method == "GET" and req.path == "/stats":
            return _json(network.stats(), 200)(environ, start_response)
        return _json({"error": "not found"}, 404)(environ, start_response)

    return app


def _json(body: Any, status: int) -> Response:
    # Exactly "application/json": the SDK parses only that content type.
    return Response(json.dumps(body), status=status, content_type="application/json")


class Simulator:
    """Serve a Network on loopback and post its delivery reports to callback_url."""

    def __init__(self, network: Network, callback_url: str, *, host: str = "127.0.0.1",
                 port: int = 0, poster_threads: int = 4) -> None:
        self.network = network
        self.callback_url = callback_url
        self._server: BaseWSGIServer = make_server(host, port, create_simulator_app(network),
                                                   threaded=True, request_handler=QuietHandler)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._server.serve_forever, daemon=True)]
        # poster_threads=0: accept and count, post no delivery reports (benchmarks).
        self._threads += [threading.Thread(target=self._post_dlrs, daemon=True)
                          for _ in range(poster_threads)]

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> Simulator:
        """Start serving (idempotent)."""
        for thread in self._threads:
            if not thread.is_alive() and thread.ident is None:
                thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.stop()

    def _post_dlrs(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            due = self.network.take_due(time.monotonic())
            if not due:
                self._stop.wait(0.02)
                continue
            for dlr in due:
                self._post(session, dlr.fields)

    def _post(self, session: requests.Session, fields: dict[str, Any]) -> None:
        # AT retries a failed callback; three quick tries stand in for that.
        for _ in range(3):
            try:
                answer = session.post(self.callback_url, data=fields, timeout=5)
            except requests.RequestException:
                time.sleep(0.2)
                continue
            if answer.status_code < 500:
                self.network.count_dlr(posted=True)
                return
        self.network.count_dlr(posted=False)

    def wait_for_dlrs(self, timeout: float) -> bool:
        """Wait until every scheduled delivery report has been posted; return whether it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.network.pending_dlrs() == 0:
                return True
            time.sleep(0.05)
        return False
