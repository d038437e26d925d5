"""The guard follows measured arrival lateness; one throttle report trims, a repeat halves.

Through the real shaper on real Redis; times are injected (lateness samples, the backoff
clock), so nothing here depends on how fast the machine runs.
"""

from __future__ import annotations

import time

import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from shaping.bucket import RateShaper
from shaping.margin import BURST_SLOPE, ArrivalMargin, drops, max_drop
from shaping.operators import Operator
from shaping.policy import WINDOW_US, OperatorCaps, Priority
from windows import busiest

CAP = 50
CAPS = OperatorCaps.parse(f"vodafone={CAP}")
VF = Operator.VODAFONE
MS = 1000

samples_st = st.lists(st.tuples(st.integers(0, 5 * WINDOW_US), st.integers(0, 400 * MS)),
                      max_size=60, unique_by=lambda s: s[0])


@settings(deadline=None)  # a busy core must not fail a pure property
@given(samples=samples_st, window=st.integers(1, 2 * WINDOW_US))
def test_drops_match_the_definition(samples: list[tuple[int, int]], window: int) -> None:
    ordered = sorted(samples)
    want = [max([0] + [late_i - late for t_i, late_i in ordered if moment - window < t_i < moment])
            for moment, late in ordered]
    assert drops(samples, window) == want
    assert max_drop(samples, window) == max(want, default=0)


@settings(deadline=None)  # a busy core must not fail a pure property
@given(samples=samples_st, floor=st.integers(0, 100 * MS))
def test_the_streaming_guard_is_the_largest_drop_clamped(samples: list[tuple[int, int]],
                                                         floor: int) -> None:
    """Folded one by one (in moment order, as answers mostly come), the guard is max_drop."""
    margin = ArrivalMargin(floor_us=floor, ceiling_us=max(floor, 300 * MS),
                           memory_us=10 * WINDOW_US, pause_us=10 * WINDOW_US, initial_us=0)
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


def _stall(margin: ArrivalMargin, t: int) -> int:
    """1 s on time, a 300 ms stall released in a burst, then 0.4 s flowing; return the time."""
    for _ in range(50):  # 1 s at 50/s, 8 ms late each
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    stall_end = t + 300 * MS
    for _ in range(15):  # sent during a 300 ms stall: answered when it ends
        margin.observe("vodafone", t, stall_end - t + 8 * MS)
        t += 20 * MS
    for _ in range(20):  # the path flows again
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    return t


def test_a_stall_widens_the_guard_at_once_and_is_forgotten_after_the_pause() -> None:
    margin = ArrivalMargin(floor_us=10 * MS, warmup_us=0)
    assert margin.guard_us("vodafone", 0) == 10 * MS  # the floor
    t = _stall(margin, 0)
    guard = margin.guard_us("vodafone", t)
    assert 280 * MS <= guard <= 300 * MS  # the burst's drop, booked at once
    assert margin.guard_us("orange", t) == 10 * MS  # per operator
    for _ in range(100):  # 2 quiet seconds: still paying (the burst's tail is in the window)
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    assert margin.guard_us("vodafone", t) > 10 * MS
    for _ in range(75):  # 1.5 more: the burst is paid for; a burst is not kept
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    # Kept for the whole memory, one stall held the operator at cap / 1.3 for 30 s.
    assert margin.guard_us("vodafone", t) == 10 * MS


def _drift(margin: ArrivalMargin, t: int, fall_us: int) -> int:
    """The path's delay falls by fall_us over 0.5 s (a queue draining) and stays there."""
    for i in range(25):
        margin.observe("vodafone", t, 60 * MS - fall_us * i // 24)
        t += 20 * MS
    return t


def test_a_drift_is_remembered_for_the_memory() -> None:
    """A path that drifted down once will again: its drop is kept, a spike's is not."""
    margin = ArrivalMargin(floor_us=10 * MS, warmup_us=0, memory_us=30 * WINDOW_US)
    t = _drift(margin, 0, 30 * MS)
    assert margin.guard_us("vodafone", t) == 30 * MS
    for _ in range(1000):  # 20 s on a steady path: still booked with the drift's drop
        margin.observe("vodafone", t, 30 * MS)
        t += 20 * MS
    assert margin.guard_us("vodafone", t) == 30 * MS
    for _ in range(600):  # 12 more: it leaves the memory
        margin.observe("vodafone", t, 30 * MS)
        t += 20 * MS
    assert margin.guard_us("vodafone", t) == 10 * MS


def test_an_initial_guard_is_booked_until_something_is_measured() -> None:
    margin = ArrivalMargin(floor_us=10 * MS, initial_us=100 * MS, warmup_us=3 * WINDOW_US)
    assert margin.guard_us("we", 0) == 100 * MS  # nothing measured: no licence for the floor
    t = 0
    for _ in range(200):  # 4 s on a steady path
        margin.observe("we", t, 40 * MS)
        t += 20 * MS
    assert margin.guard_us("we", t) == 10 * MS


@settings(deadline=None)  # a busy core must not fail a pure property
@given(samples=samples_st, now=st.integers(0, 6 * WINDOW_US))
def test_the_guard_covers_every_drop_within_the_pause(samples: list[tuple[int, int]],
                                                     now: int) -> None:
    """Whatever arrives (stalls, bursts, out of order): any drop whose moment lies within
    the pause is covered, and nothing beyond the largest drop is booked."""
    margin = ArrivalMargin(floor_us=0, ceiling_us=900 * MS, memory_us=4 * WINDOW_US,
                           pause_us=WINDOW_US, initial_us=0)
    ordered = sorted(samples)
    for moment, late in ordered:
        margin.observe("we", moment, late)
    guard = margin.guard_us("we", now)
    for (moment, _), drop in zip(ordered, drops(ordered)):
        if now - WINDOW_US <= moment <= now:
            assert guard >= drop
    assert guard <= max_drop(ordered)


@st.composite
def drifting_path(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Lateness that never falls by half the moments' gap or more: no two arrivals bunch."""
    t, late, out = 0, draw(st.integers(0, 200 * MS)), []
    for gap in draw(st.lists(st.integers(1 * MS, 300 * MS), max_size=40)):
        t += gap
        late = max(0, late + draw(st.integers(-(gap - 1) // BURST_SLOPE, 50 * MS)))
        out.append((t, late))
    return out


@settings(deadline=None)  # a busy core must not fail a pure property
@given(samples=drifting_path())
def test_a_drifting_path_keeps_every_drop_of_the_memory(samples: list[tuple[int, int]]) -> None:
    """No burst anywhere: the guard is the largest drop of the whole memory, not the pause."""
    margin = ArrivalMargin(floor_us=0, ceiling_us=900 * MS, memory_us=30 * WINDOW_US,
                           pause_us=WINDOW_US, initial_us=0)
    for moment, late in samples:
        margin.observe("we", moment, late)
    now = samples[-1][0] if samples else 0
    assert margin.guard_us("we", now) == max_drop(samples)


def test_a_stall_under_way_widens_the_guard_before_anything_comes_back() -> None:
    """Nothing answered for 200 ms where answers took 8: the burst to come is booked for."""
    margin = ArrivalMargin(floor_us=10 * MS, warmup_us=0)
    t = 0
    for _ in range(50):  # 1 s at 50/s, each answered 8 ms late
        margin.observe_dispatch("vodafone", t, 0)
        margin.observe("vodafone", t, 8 * MS)
        t += 20 * MS
    assert margin.guard_us("vodafone", t) == 10 * MS
    stall = t
    for _ in range(10):  # 200 ms sent into a stall: picked up, not answered
        margin.observe_dispatch("vodafone", t, 0)
        t += 20 * MS
    assert margin.guard_us("vodafone", t) == t - stall - 8 * MS
    assert margin.guard_us("orange", t) == 10 * MS


def test_a_message_never_answered_stops_counting_after_the_pause() -> None:
    margin = ArrivalMargin(floor_us=10 * MS, warmup_us=0, pause_us=2 * WINDOW_US)
    margin.observe("we", 0, 8 * MS)
    margin.observe_dispatch("we", 20 * MS, 0)  # its request failed: no answer will come
    assert margin.guard_us("we", 300 * MS) == 300 * MS - 20 * MS - 8 * MS
    assert margin.guard_us("we", 3 * WINDOW_US) == 10 * MS


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
