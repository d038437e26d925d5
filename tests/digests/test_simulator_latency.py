"""The simulator's path to the operators: a drifting delay, stalls that hold then release."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digests.providers.africastalking import AfricasTalkingProvider
from digests.providers.base import Outcome, Submission
from simulator.latency import NOISE, STEP_EVERY, PathLatency
from simulator.network import Faults, Network
from simulator.server import Simulator
from shaping.policy import OperatorCaps


@given(seed=st.integers(0, 10_000), gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=80))
def test_path_delay_stays_in_range_and_drifts_slowly(seed: int, gaps: list[float]) -> None:
    path = PathLatency(0.005, 0.080, seed=seed)
    now, last = 100.0, None
    for gap in gaps:
        now += gap
        delay = path.delay(now)
        assert 0.005 <= delay <= 0.080 + NOISE
        if last is not None:  # a tenth of the range per step, at most
            steps = int(gap / STEP_EVERY) + 1
            assert abs(delay - last[1]) <= steps * 0.0075 + NOISE + 1e-9
        last = (now, delay)


@settings(deadline=None)  # a busy core must not fail a pure property
@given(seed=st.integers(0, 10_000), seconds=st.integers(1, 20))
def test_largest_fall_is_the_most_the_path_fell_within_a_second(seed: int, seconds: int) -> None:
    """Checked against every pair of steps: the figure the caps bench prints its bound from."""
    path = PathLatency(0.005, 0.080, seed=seed)
    walk = []
    for i in range(seconds * 10 + 1):
        path.delay(100.0 + i * STEP_EVERY)
        walk = list(path._walk)  # noqa: SLF001
    want = max([0.0] + [a - b for i, (ta, a) in enumerate(walk) for tb, b in walk[i:]
                        if tb - ta <= 1.0])
    assert path.largest_fall() == pytest.approx(want)
    assert 0 <= path.largest_fall() <= 10 * 0.0075 + 1e-9


def test_a_stall_holds_every_message_until_it_ends() -> None:
    path = PathLatency(0.0, 0.0, stall=0.3, stall_every=5.0, seed=1)
    now = 0.0
    path.delay(now)
    while path.stalls == 0:
        now += 0.01
        wait = path.delay(now)
    start = now
    assert 0.29 <= wait <= 0.3 + NOISE
    # Messages arriving during the stall all leave at its end, in one burst.
    ends = [t + path.delay(t) for t in (start + 0.05, start + 0.15, start + 0.25)]
    assert max(ends) - min(ends) <= NOISE
    assert path.delay(start + 0.31) <= NOISE


def test_iid_mode_draws_each_message_afresh() -> None:
    path = PathLatency(0.005, 0.080, mode="iid", seed=2)
    delays = {round(path.delay(1.0 + i * 1e-6), 6) for i in range(50)}
    assert len(delays) > 40 and all(0.005 <= d <= 0.080 for d in delays)


def test_nonsense_is_refused() -> None:
    with pytest.raises(ValueError):
        PathLatency(0.08, 0.005)
    with pytest.raises(ValueError):
        PathLatency(0.0, 0.01, mode="random")


def test_the_simulator_counts_arrival_after_the_path() -> None:
    """Over HTTP: with a 50 ms path, the answer comes back after the message arrived."""
    network = Network(OperatorCaps.parse("vodafone=100"), Faults(), seed=3,
                      latency=PathLatency(0.05, 0.05))
    with Simulator(network, "http://127.0.0.1:9/unused") as sim:
        at = AfricasTalkingProvider("hudoor", "key", base_url=sim.url, pooled=True)
        result = at.submit(Submission(1, "+201000000001", "hello"))
        stats = sim.network.stats()
    assert result.outcome is Outcome.ACCEPTED
    assert stats["accepted"] == 1 and stats["stalls"] == 0
