"""Capture first (R2): USSD pressure holds SMS sending, digests and write-back; they resume after."""

from __future__ import annotations

import time

import redis
from sms_support import drafts, states
from test_digests_recovery import Recorder

from core import capture_load
from core import runtime as core_runtime
from core.runtime import Runtime
from core.writeback import jobs as wb_jobs
from digests import jobs as sms_jobs
from digests import outbox
from digests.services import build_sender
from gateway import ussd as ussd_view
from tests.support.servers import free_port
from tests.ussd.phone import Phone

LIMITS = capture_load.Limits(hops_per_second=300, slow_ms=100.0)


def test_rate_and_slow_share_set_the_signal(runtime) -> None:  # type: ignore[no-untyped-def]
    conn = runtime.redis
    signal = capture_load.Signal(conn, recheck=0)
    assert capture_load.report(conn, LIMITS, hops=299, slow=0, wall_second=100) is None
    assert not signal.busy()
    assert "300 hops this second" in capture_load.report(conn, LIMITS, hops=1, slow=0, wall_second=100)
    assert signal.busy() and 0 < conn.ttl(capture_load.BUSY_KEY) <= capture_load.HOLD_SECONDS
    conn.delete(capture_load.BUSY_KEY)
    assert capture_load.report(conn, LIMITS, hops=100, slow=1, wall_second=200) is None  # 1 %: fine
    assert capture_load.report(conn, LIMITS, hops=10, slow=10, wall_second=201) is None  # too few
    assert "2 of 100 hops slower than 100 ms" in capture_load.report(
        conn, LIMITS, hops=100, slow=2, wall_second=202)


def test_no_redis_means_no_signal_and_nothing_held() -> None:
    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
    assert capture_load.Signal(dead).reason() is None


def test_a_ussd_spike_holds_sms_until_it_passes(runtime, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The process flushes once a second of its monotonic clock; held still here, the four
    # hops land in one flush however slowly this machine plays them.
    monkeypatch.setattr(ussd_view.HOPS, "_monotonic", lambda: 0.0)
    ussd_view.HOPS.forget()
    ussd_view.HOPS._flushed = 0.0
    runtime.config = runtime.config.with_overrides(shed_hops_per_second=4, quiet_start_hour=0,
                                                   quiet_end_hour=0)
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(8), runtime.clock())
    phone = Phone(client)
    for _ in range(2):
        phone.dial()
        phone.send("0")
    ussd_view.HOPS.flush(runtime.redis)  # what each process does once a second
    status = client.get("/status.json").get_json()
    assert status["shedding"]["holding"] and "hops this second" in status["shedding"]["reason"]
    assert {t["key"]: t for t in status["wall"]}["shedding"]["grade"] == "amber"
    provider = Recorder()
    sender = build_sender(runtime, provider=provider)
    try:
        assert sender.run_once() == 1.0  # held: nothing booked, nothing claimed
        assert provider.numbers == [] and sender.stats.held == 1
        assert states(runtime) == {"queued": 8}
        runtime.redis.delete(capture_load.BUSY_KEY)  # the spike is over (the key's TTL, early)
        time.sleep(0.6)  # the sender reads the signal at most every 0.5 s
        sender.run(until_idle=True, stop_after=60)
    finally:
        sender.close()
    assert sorted(provider.numbers) == sorted(d.msisdn for d in drafts(8))  # caught up, once each


def test_scheduled_sms_and_write_back_work_steps_aside(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rt = Runtime(runtime.config, clock=runtime.clock)
    monkeypatch.setattr(core_runtime, "_worker_runtime", rt)
    capture_load.report(rt.redis, LIMITS, hops=500, slow=0)
    try:
        assert sms_jobs.digests_if_due().startswith("held: capture under pressure")
        assert "capture under pressure" in wb_jobs.send_due()["skipped"]
        held = capture_load.wait_while_busy(capture_load.Signal(rt.redis, recheck=0), 3,
                                            sleep=lambda _s: None)
        assert held == 3  # a report-day chunk waits, up to its limit
    finally:
        rt.close()
