"""Capture first (R2): USSD pressure holds SMS sending, digests and write-back; they resume after."""

from __future__ import annotations

import time

import redis
from sqlalchemy import select
from sms_support import drafts, states
from test_digests_recovery import Recorder

from core import capture_load
from core import runtime as core_runtime
from core.runtime import Runtime
from core.writeback import jobs as wb_jobs
from digests import jobs as sms_jobs
from digests import outbox
from digests.models import OutboxMessage
from digests.services import build_sender
from gateway import ussd as ussd_view
from tests.support.servers import free_port
from tests.ussd.phone import Phone
from ussd.hop_metrics import HopRecorder

LIMITS = capture_load.Limits(hops_per_second=300, slow_ms=100.0)


def test_rate_and_slow_share_set_the_signal(runtime) -> None:  # type: ignore[no-untyped-def]
    conn = runtime.redis
    signal = capture_load.Signal(conn, recheck=0)
    # Counted by the wall clock's quarter second: 300 a second is 75 in a quarter.
    assert capture_load.report(conn, LIMITS, hops=40, wall=100.01) is None
    assert capture_load.report(conn, LIMITS, hops=34, wall=100.24) is None  # 74: under
    assert capture_load.report(conn, LIMITS, hops=74, wall=100.26) is None  # the next quarter
    assert not signal.busy()
    assert "75 hops in a quarter second (limit 300 a second)" in capture_load.report(
        conn, LIMITS, hops=1, wall=100.49)
    assert signal.busy() and 0 < conn.ttl(capture_load.BUSY_KEY) <= capture_load.HOLD_SECONDS
    conn.delete(capture_load.BUSY_KEY)
    Share = capture_load.Share
    assert capture_load.report(conn, LIMITS, hops=25, share=Share(1, 100),
                               wall=200.5) is None  # 1 %: fine
    assert capture_load.report(conn, LIMITS, hops=10, share=Share(10, 10),
                               wall=201.5) is None  # too few to judge
    assert "2 of 100 hops slower than 100 ms" in capture_load.report(
        conn, LIMITS, hops=25, share=Share(2, 100), wall=202.5)  # a second's share


def test_a_process_trips_the_rate_a_quarter_second_into_a_spike(runtime) -> None:  # type: ignore[no-untyped-def]
    conn, now, clock = runtime.redis, runtime.clock(), [0.0]
    hops = HopRecorder(monotonic=lambda: clock[0])
    signal = capture_load.Signal(conn, recheck=0)
    conn.delete(capture_load.BUSY_KEY)
    first = LIMITS.hops_per_second // 4 + 5  # the spike's first quarter second, 320 a second
    for i in range(first):
        clock[0] = 0.24 * i / first
        hops.record(conn, now, 5.0, error=False, limits=LIMITS)
    assert not signal.busy()  # nothing reported yet
    clock[0] = 0.25
    hops.record(conn, now, 5.0, error=False, limits=LIMITS)  # the quarter second's report
    assert signal.busy()

    conn.delete(capture_load.BUSY_KEY)
    time.sleep(0.26)  # counts are by the wall clock's quarter: leave the one that tripped
    for i in range(first):  # a busy quarter that ends in a lull: reported at the next hop
        clock[0] = 0.5 + 0.24 * i / first
        hops.record(conn, now, 5.0, error=False, limits=LIMITS)
    clock[0] = 10.0
    hops.record(conn, now, 5.0, error=False, limits=LIMITS)  # 82 hops over 9.75 s: no spike
    assert not signal.busy()


def test_the_slow_share_is_judged_over_a_second_not_a_quarter(runtime) -> None:  # type: ignore[no-untyped-def]
    conn, now, clock = runtime.redis, runtime.clock(), [0.0]
    quiet = capture_load.Limits(hops_per_second=0, slow_ms=100.0)  # the rate never trips here
    hops = HopRecorder(monotonic=lambda: clock[0])
    signal = capture_load.Signal(conn, recheck=0)
    conn.delete(capture_load.BUSY_KEY)
    for i in range(100):  # 25 hops a quarter second; one slow in the first quarter (4 % of it)
        clock[0] = i / 100
        hops.record(conn, now, 150.0 if i == 3 else 5.0, error=False, limits=quiet)
    assert not signal.busy()  # 1 of the second's hops: 1 %, not over
    for i in range(100, 200):  # the next second: two slow
        clock[0] = i / 100
        hops.record(conn, now, 150.0 if i in (120, 170) else 5.0, error=False, limits=quiet)
    clock[0] = 2.0
    hops.record(conn, now, 5.0, error=False, limits=quiet)
    assert "2 of 100 hops slower than 100 ms" in (signal.reason() or "")


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
    reason = status["shedding"]["reason"]
    assert status["shedding"]["holding"] and "hops in a quarter second" in reason
    assert {t["key"]: t for t in status["wall"]}["shedding"]["grade"] == "amber"
    provider = Recorder()
    sender = build_sender(runtime, provider=provider)
    try:
        assert sender.run_once() == 1.0  # held: nothing booked, nothing claimed
        assert provider.numbers == [] and sender.stats.held == 1
        assert states(runtime) == {"queued": 8}
        runtime.redis.delete(capture_load.BUSY_KEY)  # the spike is over (the key's TTL, early)
        time.sleep(0.6)  # the sender reads the signal at most every quarter second
        sender.run(until_idle=True, stop_after=60)
    finally:
        sender.close()
    assert sorted(provider.numbers) == sorted(d.msisdn for d in drafts(8))  # caught up, once each


class SpikeAtFirstAnswer(Recorder):
    """Accept every message; a USSD spike begins as the first one is answered."""

    def __init__(self, conn: redis.Redis) -> None:
        super().__init__()
        self._conn: redis.Redis | None = conn

    def submit(self, message):  # type: ignore[no-untyped-def]
        if self._conn is not None:
            capture_load.report(self._conn, LIMITS, hops=LIMITS.hops_per_second)
            self._conn = None
        return super().submit(message)


def test_a_spike_that_begins_mid_round_stops_the_rest_of_it(runtime) -> None:  # type: ignore[no-untyped-def]
    # 10 a second for one operator: a round books half a second, five moments 100 ms apart;
    # the sender reads the signal (every quarter second) before each message leaves.
    runtime.config = runtime.config.with_overrides(
        operator_caps="vodafone=10,orange=0,etisalat=0,we=0", quiet_start_hour=0, quiet_end_hour=0)
    runtime.redis.delete(capture_load.BUSY_KEY)
    vodafone = [d for d in drafts(48) if d.msisdn.startswith("+2010")]
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, vodafone, runtime.clock())
    provider = SpikeAtFirstAnswer(runtime.redis)
    sender = build_sender(runtime, provider=provider)
    try:
        sender.run(stop_after=1.5)
        sent, held_back = len(provider.numbers), sender.stats.held_back
        assert 1 <= sent < 5 and held_back >= 1  # the round's later messages stayed
        # Given back as never handed over: due again at once, no attempt spent. (On a slow
        # machine a message picked up too late is given back the same way: counted too.)
        back = held_back + sender.stats.missed
        assert states(runtime) == {"sent": sent, "failed": back,
                                   "queued": len(vodafone) - sent - back}
        with runtime.sessions() as s:
            attempts = set(s.scalars(select(OutboxMessage.attempts)
                                     .where(OutboxMessage.state != "sent")))
        assert attempts == {0}
        runtime.redis.delete(capture_load.BUSY_KEY)  # the spike is over
        time.sleep(0.3)  # the sender reads the signal at most every quarter second
        sender.run(until_idle=True, stop_after=60)
    finally:
        sender.close()
    assert sorted(provider.numbers) == sorted(d.msisdn for d in vodafone)  # each once


def test_scheduled_sms_and_write_back_work_steps_aside(runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rt = Runtime(runtime.config, clock=runtime.clock)
    monkeypatch.setattr(core_runtime, "_worker_runtime", rt)
    capture_load.report(rt.redis, LIMITS, hops=500)
    try:
        assert sms_jobs.digests_if_due().startswith("held: capture under pressure")
        assert "capture under pressure" in wb_jobs.send_due()["skipped"]
        held = capture_load.wait_while_busy(capture_load.Signal(rt.redis, recheck=0), 3,
                                            sleep=lambda _s: None)
        assert held == 3  # a report-day chunk waits, up to its limit
    finally:
        rt.close()
