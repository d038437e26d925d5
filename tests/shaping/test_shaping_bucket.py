"""Check the Redis limiter on a real redis-server: cap, fairness, priority, backoff, outages."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shaping import keys
from shaping.bucket import UNAVAILABLE_RETRY_AFTER, InvalidRequest, RateShaper
from shaping.operators import Operator
from shaping.policy import (
    UNTHROTTLED,
    WINDOW_US,
    BackoffPolicy,
    OperatorCaps,
    Priority,
    RateState,
    admit,
    window_limit,
)
from shaping_hammer import hammer, process_main
from windows import busiest

CAP = 50
CAPS_TEXT = f"vodafone={CAP},orange=20,we=5"
CAPS = OperatorCaps.parse(CAPS_TEXT)
VF = Operator.VODAFONE


def full_seconds(stamps: list[int]) -> list[int]:
    """Return grant counts of each whole second from the first grant on."""
    stamps = sorted(stamps)
    whole = (stamps[-1] - stamps[0]) // WINDOW_US
    counts = [0] * whole
    for t in stamps:
        k = (t - stamps[0]) // WINDOW_US
        if k < whole:
            counts[k] += 1
    return counts


def assert_cap_respected_and_used(stamps: list[int], cap: int) -> None:
    assert busiest(stamps) <= cap
    seconds = full_seconds(stamps)
    assert seconds, "the run did not last a whole second"
    assert sum(seconds) >= 0.9 * cap * len(seconds), seconds


def test_window_helper_is_itself_right() -> None:
    assert busiest([0, WINDOW_US - 1, WINDOW_US]) == 2
    assert busiest([0, WINDOW_US, 2 * WINDOW_US]) == 1
    assert full_seconds([0, 10, WINDOW_US + 5, 2 * WINDOW_US + 1]) == [2, 1]


def test_many_threads_never_exceed_the_cap(client: redis.Redis) -> None:
    shaper = RateShaper(client, CAPS)
    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(lambda _: hammer(shaper, VF, Priority.DIGEST, 2.2), range(8)))
    stamps = [t for run in runs for t in run]
    # Digests alone may fill 80% of the window (20% is kept for urgent).
    assert_cap_respected_and_used(stamps, CAP - CAP // 5)
    assert all(runs), "some thread never got a slot"


def test_several_processes_never_exceed_the_cap(redis_socket: str, client: redis.Redis) -> None:
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded pytest process
    workers = 4
    barrier = ctx.Barrier(workers)
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=process_main,
            args=(redis_socket, CAPS_TEXT, VF.value, int(Priority.URGENT), 2.5, barrier, out),
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:
        runs = [out.get(timeout=30) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=10)
    assert [proc.exitcode for proc in procs] == [0] * workers
    assert all(runs), "some process never got a slot"
    assert_cap_respected_and_used([t for run in runs for t in run], CAP)


def test_urgent_is_never_starved_by_digests(client: redis.Redis) -> None:
    shaper = RateShaper(client, CAPS)
    stop = threading.Event()
    urgent: list[tuple[int, int | None]] = []

    def alerts() -> None:
        # ~7 alerts a second, under the 10-a-second reserve: every one must pass at once.
        while not stop.wait(0.15):
            got = shaper.try_acquire(VF, priority=Priority.URGENT)
            urgent.append((got.granted, got.server_time_us))

    alert_thread = threading.Thread(target=alerts)
    alert_thread.start()
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            digest_runs = list(
                pool.map(lambda _: hammer(shaper, VF, Priority.DIGEST, 2.0), range(6))
            )
    finally:
        stop.set()
        alert_thread.join()
    digests = [t for run in digest_runs for t in run]
    assert len(urgent) >= 10
    assert all(granted == 1 for granted, _ in urgent)
    assert busiest(digests) <= CAP - 10
    assert busiest(digests + [t for _, t in urgent if t is not None]) <= CAP
    assert_cap_respected_and_used(digests, CAP - 10)  # digests still get their full share


def test_urgent_may_take_the_whole_second(client: redis.Redis) -> None:
    shaper = RateShaper(client, CAPS)
    assert shaper.try_acquire(VF, 100, priority=Priority.DIGEST).granted == 40
    assert shaper.try_acquire(VF, 100, priority=Priority.URGENT).granted == 10
    denied = shaper.try_acquire(VF, priority=Priority.DIGEST)
    assert denied.granted == 0
    assert 0 < denied.retry_after <= 1.0


def test_operators_are_independent(client: redis.Redis) -> None:
    shaper = RateShaper(client, CAPS)
    assert shaper.try_acquire(VF, 100, priority=Priority.URGENT).granted == 50
    assert shaper.try_acquire(Operator.ORANGE, 100, priority=Priority.URGENT).granted == 20
    assert shaper.try_acquire(Operator.WE, 100, priority=Priority.URGENT).granted == 5
    # No cap configured: fail closed.
    nothing = shaper.try_acquire(Operator.ETISALAT, priority=Priority.URGENT)
    assert (nothing.granted, nothing.retry_after, nothing.limit) == (0, 1.0, 0)


def test_throttle_is_seen_by_every_worker(redis_socket: str, client: redis.Redis) -> None:
    reporter = RateShaper(client, CAPS)
    with redis.Redis(unix_socket_path=redis_socket) as other_conn:
        other = RateShaper(other_conn, CAPS)  # another worker, its own connection
        state = reporter.report_throttle(VF)
        assert state is not None and state.rate == CAP * 0.9  # a lone report trims
        got = other.try_acquire(VF, 100, priority=Priority.URGENT)
        assert (got.granted, got.limit) == (45, 45)
        assert other.rate_state(VF) == state
        assert 45 <= other.effective_rate(VF) < 46


def test_lua_matches_the_pure_policy(client: redis.Redis) -> None:
    """Replay what the script decided through the Python policy: same grants, retry, limit."""
    backoff = BackoffPolicy()
    shaper = RateShaper(client, CAPS, backoff=backoff)
    rng = random.Random(7)
    log: tuple[int, ...] = ()
    state: RateState = UNTHROTTLED
    # ~1.5 s of calls, so grants age out of the window and recovery shows.
    for step in range(300):
        time.sleep(rng.random() * 0.01)
        if step in (80, 200):
            new_state = shaper.report_throttle(VF)
            assert new_state is not None
            state = new_state
        n = rng.choice([1, 1, 2, 5, 30])
        priority = rng.choice(list(Priority))
        got = shaper.try_acquire(VF, n, priority=priority)
        assert got.server_time_us is not None
        limit = window_limit(backoff.effective_rate(state, CAP, got.server_time_us))
        want = admit(log, got.server_time_us, n, priority, limit)
        assert got.limit == limit
        assert got.granted == want.granted
        assert round(got.retry_after * WINDOW_US) == want.retry_after_us
        log = want.log


def test_keys_are_prefixed_and_expire(client: redis.Redis) -> None:
    shaper = RateShaper(client, CAPS)
    shaper.try_acquire(VF, priority=Priority.URGENT)
    shaper.report_throttle(VF)
    names = sorted(k.decode() for k in client.keys("*"))
    assert names == sorted(keys.operator_keys(VF))
    assert all(name.startswith("hudoor:shaping:") for name in names)
    assert 0 < client.pttl(keys.grant_log(VF)) <= 2000
    assert 0 < client.pttl(keys.grant_sequence(VF)) <= 2000


def test_survives_a_script_cache_flush(client: redis.Redis) -> None:
    shaper = RateShaper(client, CAPS)
    assert shaper.try_acquire(VF, priority=Priority.URGENT).granted == 1
    client.script_flush()  # e.g. Redis restarted or failed over
    assert shaper.try_acquire(VF, priority=Priority.URGENT).granted == 1


def test_rejects_empty_requests(client: redis.Redis) -> None:
    with pytest.raises(InvalidRequest):
        RateShaper(client, CAPS).try_acquire(VF, 0, priority=Priority.URGENT)


def test_unreachable_redis_fails_closed(tmp_path: Path) -> None:
    # No retries, so the test does not sit through redis-py's default backoff.
    dead = redis.Redis(unix_socket_path=f"{tmp_path}/nobody.sock", retry=Retry(NoBackoff(), 0))
    with dead:
        shaper = RateShaper(dead, CAPS)
        for _ in range(3):
            got = shaper.try_acquire(VF, 5, priority=Priority.URGENT)
            assert (got.granted, got.retry_after) == (0, UNAVAILABLE_RETRY_AFTER)
            assert got.unavailable
        assert shaper.report_throttle(VF) is None
        assert shaper.redis_failures == 4


def test_one_throttle_report_trims_and_a_second_within_memory_halves(
        client: redis.Redis) -> None:
    now = [1_000 * WINDOW_US]
    shaper = RateShaper(client, CAPS, backoff_clock=lambda: now[0])
    state = shaper.report_throttle(VF)
    assert state is not None and state.rate == CAP * 0.9  # one stray rejection: a trim
    now[0] += WINDOW_US // 2
    assert shaper.report_throttle(VF) == state  # the same overload, within the cooldown
    now[0] += WINDOW_US // 2  # a second later: 45 regrew to 50
    assert shaper.effective_rate(VF) == CAP
    state = shaper.report_throttle(VF)
    assert state is not None and state.rate == CAP * 0.5  # remembered: the trim was not enough
    now[0] += 20 * WINDOW_US  # long forgotten, fully regrown
    assert shaper.effective_rate(VF) == CAP
    state = shaper.report_throttle(VF)
    assert state is not None and state.rate == CAP * 0.9
    assert shaper.rate_state(VF) == state
