"""Fixtures for the SMS pipeline: the app served on loopback and the AT simulator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from werkzeug.serving import make_server

from core.models import utcnow
from core.runtime import Runtime
from simulator.network import Faults, Network
from sandbox.server import QuietHandler
from simulator.server import Simulator
from gateway.app import create_app
from shaping.policy import OperatorCaps


@pytest.fixture
def live_url(runtime: Runtime) -> Iterator[str]:
    """Serve the Hudoor app on a loopback port (the simulator posts DLRs to it)."""
    server = make_server("127.0.0.1", 0, create_app({"TESTING": True, "HUDOOR_RUNTIME": runtime}),
                         threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


SimFactory = Callable[..., Simulator]


@pytest.fixture
def simulator(runtime: Runtime, live_url: str) -> Iterator[SimFactory]:
    """Return a factory starting a simulator that posts DLRs to the live app."""
    started: list[Simulator] = []

    def start(caps: str | None = "vodafone=400,orange=400,etisalat=400,we=400",
              faults: Faults | None = None, seed: int = 1) -> Simulator:
        network = Network(OperatorCaps.parse(caps) if caps else None, faults or Faults(), seed)
        token = runtime.config.dlr_callback_token
        sim = Simulator(network, f"{live_url}/at/delivery-reports?token={token}").start()
        started.append(sim)
        runtime.clock = utcnow  # sending runs on a moving clock: retries must come due
        runtime.config = runtime.config.with_overrides(
            sms_provider="africastalking", at_base_url=sim.url, quiet_start_hour=0,
            quiet_end_hour=0, sms_retry_base_seconds=1, sms_urgent_share=0.0,
            operator_caps=caps or "vodafone=5000,orange=5000,etisalat=5000,we=5000")
        return sim

    yield start
    for sim in started:
        sim.stop()
