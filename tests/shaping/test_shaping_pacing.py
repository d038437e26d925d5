"""Paced grants: evenly spaced send moments, no span-long window over the allowance."""

from __future__ import annotations

import random
import threading
import time

import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from shaping import keys
from shaping.bucket import RateShaper
from shaping.operators import Operator
from shaping.policy import (
    UNTHROTTLED,
    WINDOW_US,
    BackoffPolicy,
    OperatorCaps,
    Priority,
    RateState,
    allowance,
    pace,
    window_limit,
)
from windows import busiest

CAP = 50
CAPS = OperatorCaps.parse(f"vodafone={CAP},orange=20,we=5")
VF = Operator.VODAFONE
HORIZON = 0.3


calls = st.lists(st.tuples(st.integers(0, 400_000),  # µs since the previous call
                           st.integers(1, 40),  # n
                           st.sampled_from(list(Priority))), min_size=1, max_size=60)


@settings(max_examples=300)
@given(calls=calls, limit=st.integers(1, 300), guard=st.integers(0, 200_000),
       horizon=st.integers(1, 999_999), lead_share=st.floats(0, 0.99))
def test_pure_pace_never_overfills_a_window(calls: list[tuple[int, int, Priority]], limit: int,
                                            guard: int, horizon: int, lead_share: float) -> None:
    lead = int(horizon * lead_share)
    span = WINDOW_US + guard
    now, log, free = 10**12, (), 0
    digests: list[int] = []
    every: list[int] = []
    for gap, n, priority in calls:
        now += gap
        got = pace(log, free, now, n, priority, limit, span_us=span, horizon_us=horizon,
                   lead_us=lead)
        assert len(got.delays_us) <= n
        assert list(got.delays_us) == sorted(got.delays_us)
        assert all(lead <= d <= horizon for d in got.delays_us)
        assert (got.retry_after_us > 0) == (len(got.delays_us) < n)
        moments = [now + d for d in got.delays_us]
        every += moments
        if priority is Priority.DIGEST:
            digests += moments
        log, free = got.log, got.next_free_us
    # Urgent may use the whole limit; digests never more than their allowance.
    assert busiest(every, span) <= limit
    # Consecutive moments are at least span/limit apart (none share an instant).
    ordered = sorted(every)
    assert all(b - a >= span // limit for a, b in zip(ordered, ordered[1:]))
    if not any(p is Priority.URGENT for _, _, p in calls):
        assert busiest(digests, span) <= max(0, allowance(limit, Priority.DIGEST, 0.2))


def test_a_steady_caller_gets_the_cap_evenly_spaced() -> None:
    limit, span = 200, WINDOW_US
    now, log, free, moments = 0, (), 0, []
    while now < 5 * WINDOW_US:  # ask every 100 ms for as much as the horizon allows
        got = pace(log, free, now, 1000, Priority.URGENT, limit, horizon_us=250_000)
        moments += [now + d for d in got.delays_us]
        log, free = got.log, got.next_free_us
        now += 100_000
    assert busiest(moments, span) == limit
    gaps = {b - a for a, b in zip(moments, moments[1:])}
    assert gaps == {span // limit}  # no bursts: one message every 5 ms


def test_lua_matches_the_pure_pacing(client: redis.Redis) -> None:
    """Replay what the script decided through the Python policy: same moments and retry."""
    backoff = BackoffPolicy()
    shaper = RateShaper(client, CAPS, backoff=backoff, guard_us=20_000)
    rng = random.Random(11)
    log: tuple[int, ...] = ()
    free = 0
    state: RateState = UNTHROTTLED
    for step in range(250):
        time.sleep(rng.random() * 0.012)
        if step in (70, 180):
            new_state = shaper.report_throttle(VF)
            assert new_state is not None
            state = new_state
        n = rng.choice([1, 2, 5, 30])
        priority = rng.choice(list(Priority))
        lead = rng.choice([0.0, 0.03])
        got = shaper.acquire_paced(VF, n, priority=priority, horizon=HORIZON, lead=lead)
        assert got.server_time_us is not None
        limit = window_limit(backoff.effective_rate(state, CAP, got.server_time_us))
        want = pace(log, free, got.server_time_us, n, priority, limit, span_us=1_020_000,
                    horizon_us=int(HORIZON * 1_000_000), lead_us=int(lead * 1_000_000))
        assert got.limit == limit
        assert [round(d * 1_000_000) for d in got.delays] == list(want.delays_us)
        assert round(got.retry_after * 1_000_000) == want.retry_after_us
        log, free = want.log, want.next_free_us


def test_workers_share_one_chain_of_moments(redis_socket: str, client: redis.Redis) -> None:
    """Four workers on their own connections: moments interleave, no second over the cap."""
    moments: list[float] = []
    lock = threading.Lock()
    done = threading.Event()

    def worker() -> None:
        with redis.Redis(unix_socket_path=redis_socket) as conn:
            shaper = RateShaper(conn, CAPS)
            while not done.is_set():
                got = shaper.acquire_paced(VF, 7, priority=Priority.URGENT, horizon=HORIZON)
                assert got.server_time_us is not None
                with lock:
                    moments.extend(got.server_time_us + d * 1_000_000 for d in got.delays)
                time.sleep(max(got.retry_after, 0.01))

    def booked() -> list[int]:
        with lock:
            return sorted(round(m) for m in moments)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    # Ask for at least 1.5 s, then until some second holds the full cap: a descheduled
    # worker on a busy machine leaves a gap in the chain, never an extra moment.
    started = time.monotonic()
    while time.monotonic() - started < 60:
        time.sleep(0.1)
        if time.monotonic() - started >= 1.5 and busiest(booked(), WINDOW_US) >= CAP:
            break
    done.set()
    for t in threads:
        t.join()
    stamps = booked()
    assert len(stamps) == len(set(stamps))
    assert busiest(stamps, WINDOW_US) == CAP  # full rate, never more
    assert min(b - a for a, b in zip(stamps, stamps[1:])) >= WINDOW_US // CAP
    assert 0 < client.pttl(keys.next_slot(VF)) <= 3000


def test_an_operator_without_a_cap_gets_no_moments(client: redis.Redis) -> None:
    got = RateShaper(client, CAPS).acquire_paced(Operator.ETISALAT, 3, priority=Priority.URGENT)
    assert (got.granted, got.delays, got.limit) == (0, (), 0)
    assert got.retry_after == 1.0
