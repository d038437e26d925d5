"""The Africa's Talking provider through the real SDK against the simulator."""

from __future__ import annotations

import socket
import time

import pytest

from digests.providers.africastalking import AfricasTalkingProvider
from digests.providers.base import Outcome, ProviderInDoubt, ProviderUnavailable, Submission
from digests.providers.console import ConsoleProvider
from simulator.network import Faults, Network
from simulator.server import Simulator
from shaping.policy import OperatorCaps
from tests.support.servers import free_port


def start(caps: str, faults: Faults = Faults()) -> Simulator:
    network = Network(OperatorCaps.parse(caps), faults, seed=3)
    return Simulator(network, "http://127.0.0.1:9/unused").start()


@pytest.mark.parametrize("pooled", [False, True])
def test_accepts_and_enforces_the_operator_cap(pooled: bool) -> None:
    with start("vodafone=5,orange=100") as sim:
        at = AfricasTalkingProvider("hudoor", "key", base_url=sim.url, pooled=pooled)
        began = time.monotonic()
        results = [at.submit(Submission(i, f"+2010{i:08d}", "حضور")) for i in range(8)]
        quick = time.monotonic() - began < 1.0
        stats = sim.network.stats()
    outcomes = [r.outcome for r in results]
    assert outcomes[:5] == [Outcome.ACCEPTED] * 5
    assert all(r.provider_message_id for r in results[:5])
    assert stats["operators"]["vodafone"]["max_window"] <= 5
    assert stats["throttled"] == outcomes.count(Outcome.THROTTLED)
    if quick:  # all eight within one second: the last three were over the cap
        assert outcomes[5:] == [Outcome.THROTTLED] * 3
        assert results[5].reason == "502 RejectedByGateway"


def test_refusals_are_permanent() -> None:
    with start("vodafone=100", Faults(invalid=0.5, blacklisted=0.5)) as sim:
        at = AfricasTalkingProvider("hudoor", "key", base_url=sim.url)
        results = [at.submit(Submission(i, f"+2010{i:08d}", "x")) for i in range(10)]
    assert {r.outcome for r in results} == {Outcome.PERMANENT}
    assert {r.reason for r in results} <= {"403 InvalidPhoneNumber", "406 UserInBlacklist"}


@pytest.mark.parametrize("pooled", [False, True])
def test_unreachable_provider_is_classified(pooled: bool) -> None:
    at = AfricasTalkingProvider("hudoor", "key", base_url=f"http://127.0.0.1:{free_port()}",
                                pooled=pooled)
    with pytest.raises(ProviderUnavailable):
        at.submit(Submission(1, "+201001234567", "x"))


@pytest.mark.parametrize("pooled", [False, True])
def test_no_answer_in_time_is_in_doubt(pooled: bool) -> None:
    """Connected and sent, but no answer: the provider may have it; never resend blindly."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        at = AfricasTalkingProvider("hudoor", "key", base_url=f"http://127.0.0.1:{port}",
                                    pooled=pooled, timeout=(1.0, 0.3))
        with pytest.raises(ProviderInDoubt):
            at.submit(Submission(1, "+201001234567", "x"))


@pytest.mark.parametrize("pooled", [False, True])
def test_a_refused_request_is_transient(pooled: bool) -> None:
    """A non-2xx answer to the whole request (here 404: wrong path) is retried later."""
    with start("vodafone=100") as sim:
        at = AfricasTalkingProvider("hudoor", "key", base_url=sim.url + "/elsewhere",
                                    pooled=pooled)
        result = at.submit(Submission(1, "+201001234567", "x"))
    assert result.outcome is Outcome.TRANSIENT
    assert result.reason.startswith("http: ")
    assert "not found" in result.reason


def test_console_provider_accepts_everything() -> None:
    console = ConsoleProvider()
    assert console.submit(Submission(1, "+201001234567", "x")).provider_message_id == "console-1"
    assert len(console.sent) == 1
