"""Operator probes (U5): a USSD session and an SMS round trip per operator, on the wall,
with an alert on the second failure in a row. Real app over HTTP, real simulator, real DLRs."""

from __future__ import annotations

from sms_support import wait_final
from sqlalchemy import select
from test_digests_pipeline import send_until_final

from core.models import ProbeResult
from gateway.cli import cli
from gateway.probes import run
from simulator.network import Faults
from tests.support.servers import free_port

SIMS = "vodafone=+201000000999,orange=+201200000999,etisalat=+201100000999,we=+201500000999"


def _probing(runtime, live_url: str, url: str | None = None) -> None:  # type: ignore[no-untyped-def]
    runtime.config = runtime.config.with_overrides(
        probe_numbers=SIMS, probe_ussd_url=url or f"{live_url}/at/ussd")


def test_each_operator_is_probed_over_ussd_and_an_sms_round_trip(runtime, simulator, live_url, client) -> None:  # type: ignore[no-untyped-def]
    sim = simulator()
    _probing(runtime, live_url)
    first = run(runtime)
    assert sorted((line.operator, line.kind, line.ok) for line in first) == sorted(
        [(op, "ussd", True) for op in ("vodafone", "orange", "etisalat", "we")]
        + [(op, "sms", None) for op in ("vodafone", "orange", "etisalat", "we")])
    assert all(line.latency_ms is not None for line in first if line.kind == "ussd")
    send_until_final(runtime)
    assert sim.wait_for_dlrs(10)
    assert wait_final(runtime, 10) == {"delivered": 4}
    second = run(runtime)  # settles the round trips, probes USSD again, sends four more
    settled = [line for line in second if line.kind == "sms" and line.ok is not None]
    assert len(settled) == 4 and all(line.ok and line.latency_ms is not None for line in settled)
    data = client.get("/status.json").get_json()
    assert set(data["probes"]) == {"vodafone", "orange", "etisalat", "we"}
    assert data["probes"]["we"]["sms"]["ok"] is True
    tiles = {t["key"]: t for t in data["wall"]}
    assert tiles["probe_failures:orange:ussd"]["grade"] == "green"
    assert tiles["probe_failures:orange:sms"]["value"] == 0
    assert sim.network.stats()["duplicates"] == 0


def test_a_second_failure_in_a_row_raises_the_alert(runtime, simulator, live_url, client, runner) -> None:  # type: ignore[no-untyped-def]
    simulator(faults=Faults(invalid=1.0))  # every SMS refused: the round trip fails too
    _probing(runtime, live_url, url=f"http://127.0.0.1:{free_port()}/at/ussd")  # nobody there
    first = run(runtime)
    ussd = [line for line in first if line.kind == "ussd"]
    assert all(line.ok is False and "unreachable" in line.detail and not line.alert for line in ussd)
    tiles = {t["key"]: t for t in client.get("/status.json").get_json()["wall"]}
    assert tiles["probe_failures:vodafone:ussd"]["grade"] == "amber"  # one failure: a blip?
    send_until_final(runtime)
    out = runner.invoke(cli, ["probes", "run"])
    assert out.exit_code == 1, out.output  # an alert: the exit status says so
    assert "ALERT: second failure in a row" in out.output
    sms = [line for line in out.output.splitlines() if " sms  FAILED" in line]
    assert len(sms) == 4 and "dead_lettered" in sms[0]
    data = client.get("/status.json").get_json()
    assert data["probes"]["vodafone"]["ussd"]["alert"] is True
    tiles = {t["key"]: t for t in data["wall"]}
    assert tiles["probe_failures:vodafone:ussd"]["grade"] == "red" and data["overall"] == "red"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'hudoor_probe_alert{operator="vodafone",kind="ussd"} 1' in metrics
    with runtime.sessions() as s:
        assert s.scalar(select(ProbeResult).where(ProbeResult.alert.is_(True)).limit(1)) is not None


def test_probes_need_their_sims(runtime, runner) -> None:  # type: ignore[no-untyped-def]
    out = runner.invoke(cli, ["probes", "run"])
    assert out.exit_code == 2 and "HUDOOR_PROBE_NUMBERS" in out.output
    runtime.config = runtime.config.with_overrides(probe_numbers="vodafone=0100")
    import pytest

    from core.config import ConfigError

    with pytest.raises(ConfigError, match="operator=\\+20"):
        runtime.config.check()
