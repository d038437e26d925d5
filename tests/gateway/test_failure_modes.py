"""Failure modes with the real component stopped (R2): the database, Redis, the upstream, the
SMS provider. USSD says plainly that nothing was saved, nothing is half-written, recovery
needs no manual step, and /status says what is wrong in plain words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from core.config import Config
from core.models import AttendanceMark, AttendanceRecord
from core.runtime import Runtime
from gateway.app import create_app
from gateway.cli import cli
from tests.support.servers import PostgresCluster, RedisServer, ServerUnavailable
from tests.ussd.phone import Phone

BUSY = "Service busy. Nothing was saved"


@pytest.fixture
def own_servers(tmp_path, sandbox) -> Iterator[tuple[Runtime, PostgresCluster, RedisServer]]:  # type: ignore[no-untyped-def]
    """A runtime on a PostgreSQL cluster and a Redis of its own, which the test may stop."""
    try:
        pg = PostgresCluster.start()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    rds = RedisServer.start()
    url = pg.create_database("failures")
    from core import migrate

    migrate.upgrade(url)
    from tests.conftest import SCHOOL_MORNING

    rt = Runtime(Config(env="test", var_dir=tmp_path / "var", database_url=url, redis_url=rds.url,
                        upstream_url=sandbox.url, ussd_callback_token="test-ussd-token",
                        dlr_callback_token="test-dlr-token", inbound_callback_token="test-inbound-token"),
                 clock=lambda: SCHOOL_MORNING)
    try:
        yield rt, pg, rds
    finally:
        rt.close()
        rds.stop()
        pg.stop()


def _teacher_phone(rt: Runtime, sandbox, runner) -> Phone:  # type: ignore[no-untyped-def]
    import re

    school = sandbox.district.schools()[0]["id"]
    teacher = next(p for p in sandbox.district.roster(school) if p["role"] == "teacher")
    out = runner.invoke(cli, ["codes", "issue", "--staff", teacher["id"]])
    assert out.exit_code == 0, out.output
    number, code = re.search(r"staff number (\d+), code (\d+)", out.output).groups()  # type: ignore[union-attr]
    return number, code  # type: ignore[return-value]


@pytest.mark.postgres
def test_database_down_ussd_says_nothing_saved_and_recovers_by_itself(own_servers, sandbox) -> None:  # type: ignore[no-untyped-def]
    rt, pg, _rds = own_servers
    app = create_app({"TESTING": True, "HUDOOR_RUNTIME": rt})
    runner, client = app.test_cli_runner(), app.test_client()
    assert runner.invoke(cli, ["sync", "full"]).exit_code == 0
    number, code = _teacher_phone(rt, sandbox, runner)
    phone = Phone(client)
    phone.dial()
    phone.send("1")
    phone.send(number)
    assert phone.send(code).startswith("END ")  # activated
    phone.dial()
    phone.send("1")  # attendance
    assert phone.send("1").startswith("CON ")  # the first class: "0 no one absent"
    screen = phone.send("0")
    assert screen.startswith("CON ") and "1 " in screen, screen  # the review: "1 Confirm"
    port = pg.port
    pg.crash()
    # Confirming with the database gone: "not saved", and the session keeps the marks.
    retry = phone.send("1")
    assert "لم يُحفظ" in retry and "1 " in retry, retry
    with pytest.raises(Exception):
        with rt.sessions() as s:
            s.scalar(select(func.count()).select_from(AttendanceRecord))
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"].startswith("error")
    page = client.get("/status")
    assert page.status_code == 503
    assert "database is unreachable" in page.get_data(as_text=True)
    assert client.get("/status.json").get_json()["overall"] == "red"
    assert "hudoor_database_up 0" in client.get("/metrics").get_data(as_text=True)
    # The database comes back on the same port: the teacher presses 1 again, no manual step.
    pg.restart()
    assert pg.port == port
    done = phone.send("1")
    assert done.startswith("END "), done
    with rt.sessions() as s:
        records = s.scalar(select(func.count()).select_from(AttendanceRecord))
    assert records == 1  # saved once, whole
    assert client.get("/healthz").status_code == 200


def test_redis_down_ussd_says_nothing_saved_and_status_says_why(own_servers) -> None:  # type: ignore[no-untyped-def]
    rt, _pg, rds = own_servers
    client = create_app({"TESTING": True, "HUDOOR_RUNTIME": rt}).test_client()
    assert Phone(client).dial().startswith("CON ")
    rds.proc.terminate()
    rds.proc.wait(10)
    end = Phone(client, msisdn="+201201230001").dial()
    assert end.startswith("END ") and ("Nothing was saved" in end or "لم يُحفظ شيء" in end), end
    assert client.get("/healthz").status_code == 503
    data = client.get("/status.json").get_json()
    assert data["redis"].startswith("unreachable")


def test_redis_wiped_mid_session_the_session_is_rebuilt_from_the_operators_text(synced, client, runner, sandbox) -> None:  # type: ignore[no-untyped-def]
    """Africa's Talking sends every input of the session in `text`: a session whose state was
    wiped is replayed from it, so the teacher sees the screen they expect and loses nothing.
    (The SMS queues rebuild from the outbox: tests/digests/test_digests_pipeline.py.)"""
    number, code = _teacher_phone(synced, sandbox, runner)
    phone = Phone(client)
    phone.dial()
    phone.send("1")
    phone.send(number)
    assert phone.send(code).startswith("END ")
    phone.dial()
    phone.send("1")
    phone.send("1")
    expected = Phone(client, msisdn=phone.msisdn)  # the same inputs, Redis intact
    synced.redis.flushall()  # sessions, caches, queues: gone
    after = phone.send("0")
    assert after.startswith("CON ") and "\n1 " in after, after  # the review, "1 Confirm"
    assert phone.send("1").startswith("END ")
    with synced.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AttendanceRecord)) == 1
    assert expected.dial().startswith("CON ")  # and the next session starts as usual


def test_upstream_down_the_sync_fails_plainly_and_status_says_so(runtime, client, runner) -> None:  # type: ignore[no-untyped-def]
    from tests.support.servers import free_port

    runtime.config = runtime.config.with_overrides(
        upstream_url=f"http://127.0.0.1:{free_port()}", upstream_retries=0, upstream_timeout=2)
    out = runner.invoke(cli, ["sync", "delta"])
    assert out.exit_code != 0
    data = client.get("/status.json").get_json()
    assert data["last_delta_sync"]["status"] == "failed"
    assert "UpstreamUnavailable" in data["last_delta_sync"]["error"]
    tile = {t["key"]: t for t in data["wall"]}["sync_failed"]
    assert tile["grade"] == "red" and "upstream: last delta sync failed" in tile["label"]


def test_provider_down_messages_wait_and_status_says_so(runtime, client) -> None:  # type: ignore[no-untyped-def]
    from tests.digests.sms_support import drafts

    from digests import outbox
    from digests.services import build_sender
    from tests.support.servers import free_port

    runtime.config = runtime.config.with_overrides(
        sms_provider="africastalking", at_base_url=f"http://127.0.0.1:{free_port()}",
        quiet_start_hour=0, quiet_end_hour=0)
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(4), runtime.clock())
    sender = build_sender(runtime)
    try:
        sender.run(stop_after=3)
    finally:
        sender.close()
    data = client.get("/status.json").get_json()
    assert data["sms"]["outbox"]["failed"] == 4 and data["sms"]["dlq"] == 0  # waiting to retry
    provider = data["sms"]["provider"]
    assert provider["state"] == "down" and "messages wait in the outbox and retry" in provider["says"]
    assert {t["key"]: t for t in data["wall"]}["sms_failure_share"]["grade"] == "red"
    assert "SMS provider: every send failed" in client.get("/status").get_data(as_text=True)
