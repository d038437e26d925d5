"""An Africa's Talking look-alike over HTTP: the SDK's real requests in, DLRs posted back.

The HTTP side runs on aiohttp in one event loop on its own thread: keep-alive
connections and no thread per connection, so the simulator costs little CPU and
adds little latency jitter next to the senders it measures (werkzeug closes every
connection and runs a thread per request; see docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from types import TracebackType
from typing import Any

import requests
from aiohttp import web

from simulator.network import Network


def create_simulator_app(network: Network) -> web.Application:
    """Build the simulator's aiohttp app around one Network."""

    async def messaging(request: web.Request) -> web.Response:
        if not request.headers.get("apiKey"):
            return _json({"error": "missing apiKey"}, 401)
        form = await request.post()
        to, text = str(form.get("to", "")), str(form.get("message", ""))
        if network.latency is not None:  # the path to the operator (simulator/latency.py)
            await asyncio.sleep(network.latency.delay(time.monotonic()))
        recipients = [network.submit(n.strip(), text) for n in to.split(",") if n.strip()]
        sent = sum(1 for r in recipients if r["statusCode"] == 101)
        return _json({"SMSMessageData": {"Message": f"Sent to {sent}/{len(recipients)}",
                                         "Recipients": recipients}}, 201)

    async def stats(_request: web.Request) -> web.Response:
        return _json(network.stats(), 200)

    async def inbox(request: web.Request) -> web.Response:
        to = request.query.get("to", "").strip() or None
        try:
            limit = max(1, min(500, int(request.query.get("limit", "100"))))
        except ValueError:
            return _json({"error": "limit must be a whole number"}, 400)
        return _json({"messages": network.inbox.entries(to, limit)}, 200)

    async def not_found(_request: web.Request) -> web.Response:
        return _json({"error": "not found"}, 404)

    app = web.Application()
    app.router.add_post("/version1/messaging", messaging)
    app.router.add_get("/stats", stats)
    app.router.add_get("/inbox", inbox)  # what reached the operators (the stack's /dev/sms)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


def _json(body: Any, status: int) -> web.Response:
    # Exactly "application/json": the SDK parses only that content type.
    # Bytes, not text: aiohttp would append "; charset=utf-8" to a text body's type.
    return web.Response(body=json.dumps(body).encode(), status=status,
                        content_type="application/json")


class Simulator:
    """Serve a Network on loopback and post its delivery reports to callback_url."""

    def __init__(self, network: Network, callback_url: str, *, host: str = "127.0.0.1",
                 port: int = 0, poster_threads: int = 4) -> None:
        self.network = network
        self.callback_url = callback_url
        self._host, self._port = host, port
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(create_simulator_app(network), access_log=None)
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, daemon=True, name="sim-http")]
        # poster_threads=0: accept and count, post no delivery reports (benchmarks).
        self._threads += [threading.Thread(target=self._post_dlrs, daemon=True)
                          for _ in range(poster_threads)]

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, self._host, self._port, reuse_address=True)
        self._loop.run_until_complete(site.start())
        sockets = site._server.sockets if site._server else []  # noqa: SLF001
        self._port = sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        self._stop.set()
        if self._ready.is_set():
            self._loop.call_soon_threadsafe(self._loop.stop)
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def start(self) -> Simulator:
        """Start serving and return once the port is open (idempotent)."""
        for thread in self._threads:
            if not thread.is_alive() and thread.ident is None:
                thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("simulator did not start")
        return self

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
