"""End to end through the real SDK: outbox → shaper → AT simulator → DLR webhook → final state."""

from __future__ import annotations

import threading
from datetime import timedelta

import redis
from sms_support import FINAL, drafts, states, wait_final

from core.models import utcnow
from digests import outbox
from digests.services import build_sender, requeue_from_outbox
from simulator.network import Faults

STORM = Faults(invalid=0.03, blacklisted=0.03, absent=0.1, buffered=0.1, duplicate_dlr=0.5,
               late_sent=0.5, dlr_delay=(0.01, 0.3))


def send_until_final(runtime, rounds: int = 200) -> None:  # type: ignore[no-untyped-def]
    """Run a sender a second at a time until every outbox row is delivered or dead-lettered."""
    sender = build_sender(runtime, threads=8)
    try:
        for _ in range(rounds):
            sender.run(stop_after=1.0)
            if set(states(runtime)) <= FINAL:
                break
    finally:
        sender.close()


def test_every_message_reaches_a_final_state_once(runtime, simulator) -> None:  # type: ignore[no-untyped-def]
    sim = simulator(faults=STORM)
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(400))
    send_until_final(runtime)
    assert sim.wait_for_dlrs(10)
    counts = wait_final(runtime, 10)
    stats = sim.network.stats()
    assert set(counts) <= FINAL, counts
    assert sum(counts.values()) == 400
    assert stats["duplicates"] == 0
    assert stats["throttled"] == 0
    assert counts["dead_lettered"] > 0 and counts["delivered"] > 300


def test_redis_flushed_mid_run_loses_nothing_and_sends_nothing_twice(runtime, simulator) -> None:  # type: ignore[no-untyped-def]
    sim = simulator(caps="vodafone=150,orange=150,etisalat=150,we=150", faults=STORM)
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(1200), runtime.clock())
    assert len(requeue_from_outbox(runtime.sessions, runtime.redis, runtime.clock())) == 4
    flusher = threading.Timer(0.8, lambda: redis.Redis.from_url(runtime.config.redis_url).flushall())
    flusher.start()
    try:
        send_until_final(runtime)
    finally:
        flusher.join()
    # The queues are rebuilt from the outbox, idempotently.
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, drafts(4, day=drafts(1)[0].day + timedelta(days=1)))
    first = requeue_from_outbox(runtime.sessions, runtime.redis, utcnow())
    assert requeue_from_outbox(runtime.sessions, runtime.redis, utcnow()) == []
    assert len(first) == 4
    assert sim.wait_for_dlrs(10)
    counts = states(runtime)
    assert counts.pop("queued") == 4
    assert set(counts) <= FINAL and sum(counts.values()) == 1200
    assert sim.network.stats()["duplicates"] == 0
