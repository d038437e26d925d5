"""The guard follows measured arrival lateness; one throttle report trims, a repeat halves.

Through the real shaper on real Redis; times are injected (lateness samples, the backoff
clock), so nothing here depends on how fast the machine runs.
"""

from __future__ import annotations

import time

import redis
from hypothesis import given
from hypothesis import strategies as st

from shaping.bucket import RateShaper
from shaping.margin import ArrivalMargin, drops, max_drop
from shaping.operators import Operator
from shaping.policy import WINDOW_US, OperatorCaps, Priority
from windows import busiest

CAP = 50
CAPS = OperatorCaps.parse(f"vodafone={CAP}")
VF = Operator.VODAFONE
MS = 1000

samples_st = st.lists(st.tuples(st.integers(0, 5 * WINDOW_US), st.integers(0, 400 * MS)),
                      max_size=60, unique_by=lambda s: s[0])


@given(samples=samples_st, window=st.integers(1, 2 * WINDOW_US))
def test_drops_match_the_definition(samples: list[tuple[int, int]], window: int) -> None:
    ordered = sorted(samples)
    want = [max([0] + [late_i - late for t_i, late_i in ordered if moment - window < t_i < moment])
            for moment, late in ordered]
    assert drops(samples, window) == want
    assert max_drop(samples, window) == max(want, default=0)


@given(samples=samples_st, floor=st.integers(0, 100 * MS))
def test_the_streaming_guard_is_the_largest_drop_clamped(samples: list[tuple[int, int]],
                                                         floor: int) -> None:
    """Folded one by one (in moment order, as answers mostly come), the guard is max_drop."""
    margin = ArrivalMargin(floor_us=floor, ceiling_us=max(floor, 300 * MS),
                           memory_us=10 * WINDOW_US)
    for moment, late in sorted(samples):
        margin.observe("we", moment, late)
    want = max(floor, min(max(floor, 300 * MS), max_drop(samples)))
    assert margin.guard_us("we", 5 * WINDOW_US) == want


def test_steady_lateness_costs_no_guard() -> None:
    # 40 ms late, every time: every message shifts alike, no second is crowded.
    margin = ArrivalMargin(floor_us=2 * MS)
    for i in range(200):
        margin.observe("vodafone", i * 20 * MS, 40 * MS)
    assert margin.guard_us("vodafone", 4 * WINDOW_US) == 2 * MS


def test_a_stall_widens_the_guard_at_once_and_is_forgotten() -> None:
    margin = ArrivalMargin(floor_us=10 * MS, memory_us=5 * WINDOW_US)
    t = 0
    for _ in range(50):  # 1 s at 50/s, 8 ms late each
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    assert margin.guard_us("vodafone", t) == 10 * MS  # the floor
    stall_end = t + 300 * MS
    for _ in range(15):  # sent during a 300 ms stall: answered when it ends
        margin.observe("vodafone", t, stall_end - t + 8 * MS)
        t += 20 * MS
    for _ in range(20):  # the path flows again
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    guard = margin.guard_us("vodafone", t)
    assert 280 * MS <= guard <= 300 * MS  # the burst's drop, booked at once
    assert margin.guard_us("orange", t) == 10 * MS  # per operator
    for _ in range(300):  # 6 quiet seconds: the stall leaves memory
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    assert margin.guard_us("vodafone", t) == 10 * MS


def test_the_guard_stays_within_its_floor_and_ceiling() -> None:
    margin = ArrivalMargin(floor_us=5 * MS, ceiling_us=200 * MS)
    margin.observe("we", 0, 900 * MS)
    margin.observe("we", 10 * MS, 0)
    assert margin.guard_us("we", 20 * MS) == 200 * MS


def test_a_wider_guard_spaces_the_real_chain_so_the_burst_is_paid_for(
        client: redis.Redis) -> None:
    """After a stall the sender books with the measured drop: the moments booked then keep
    every (1 s + drop) window - the burst and what follows it - within the cap."""
    shaper = RateShaper(client, CAPS, guard_us=10 * MS)
    first = shaper.acquire_paced(VF, 1000, priority=Priority.URGENT, horizon=0.9)
    margin = ArrivalMargin(floor_us=10 * MS)
    for moment in first.moments:  # every one of them answered as if a 300 ms stall held it
        margin.observe("vodafone", int(moment * 1e6), 300 * MS)
    margin.observe("vodafone", int(first.moments[-1] * 1e6) + 1, 0)  # then the path flows
    guard = margin.guard_us("vodafone", int(first.moments[-1] * 1e6))
    assert guard == 300 * MS
    assert first.server_time_us is not None
    moments = [first.server_time_us + int(d * 1e6) for d in first.delays]
    booked = 0
    for _ in range(400):  # on a fast machine the first second is still full: wait it out
        got = shaper.acquire_paced(VF, 1000, priority=Priority.URGENT, horizon=0.9,
                                   guard_us=guard)
        assert got.server_time_us is not None
        moments += [got.server_time_us + int(d * 1e6) for d in got.delays]
        booked += 1 if got.delays else 0
        if booked >= 3:
            break
        time.sleep(0.02)
    assert len(moments) > len(first.delays)
    assert busiest(moments, WINDOW_US + guard) <= CAP


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


def test_the_dispatch_baseline_is_the_least_recent_lateness() -> None:
    """A busy sender picks everything up ~200 ms late: that much is everyone's, not a drop."""
    margin = ArrivalMargin(floor_us=10 * MS, memory_us=5 * WINDOW_US)
    assert margin.baseline_us("we", 0) == 0
    for i in range(100):
        margin.observe_dispatch("we", i * 20 * MS, (200 + i % 7) * MS)
    assert margin.baseline_us("we", 2 * WINDOW_US) == 200 * MS
    margin.observe_dispatch("we", 2 * WINDOW_US, 3 * MS)  # the machine calmed down
    assert margin.baseline_us("we", 2 * WINDOW_US) == 3 * MS
    for i in range(10):
        margin.observe_dispatch("we", 8 * WINDOW_US + i * 20 * MS, 50 * MS)
    assert margin.baseline_us("we", 8 * WINDOW_US) == 50 * MS  # the 3 ms left memory
