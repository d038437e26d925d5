"""Check the pure shaping policy: caps parsing, backoff, recovery and admission."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shaping.operators import Operator
from shaping.policy import (
    UNTHROTTLED,
    WINDOW_US,
    BackoffPolicy,
    Event,
    InvalidCaps,
    InvalidPolicy,
    OperatorCaps,
    Priority,
    RateState,
    admit,
    allowance,
)

POLICY = BackoffPolicy()
caps_st = st.integers(min_value=1, max_value=1000)
times = st.integers(min_value=0, max_value=10**15)
seconds_us = st.integers(min_value=0, max_value=60 * WINDOW_US)


def test_parse_caps() -> None:
    caps = OperatorCaps.parse("vodafone=200, Orange=150,etisalat=100,we=50")
    assert caps.cap_for(Operator.VODAFONE) == 200
    assert caps.cap_for(Operator.ORANGE) == 150
    assert caps.cap_for(Operator.ETISALAT) == 100
    assert caps.cap_for(Operator.WE) == 50
    assert caps.cap_for(Operator.UNKNOWN) == 0  # unconfigured: send nothing
    assert OperatorCaps.parse("e&=7").cap_for(Operator.ETISALAT) == 7
    assert OperatorCaps.parse("") == OperatorCaps(())
    assert caps == OperatorCaps.parse("we=50,etisalat=100,orange=150,vodafone=200")


@pytest.mark.parametrize(
    "text", ["vodafone", "vodafone=", "vodafone=-1", "vodafone=1.5", "zain=5", "we=1,we=2", "we=x"]
)
def test_parse_caps_rejects(text: str) -> None:
    with pytest.raises(InvalidCaps):
        OperatorCaps.parse(text)


@pytest.mark.parametrize(
    "kwargs",
    [{"factor": 1.0}, {"factor": 0.0}, {"floor_share": 0.0}, {"recovery_share": 0.0},
     {"cooldown_us": -1}, {"first_factor": 0.4}, {"first_factor": 1.0},
     {"memory_us": 0}],
)
def test_policy_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidPolicy):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]


def test_priority_order() -> None:
    assert sorted([Priority.DIGEST, Priority.URGENT]) == [Priority.URGENT, Priority.DIGEST]


def test_worked_example() -> None:
    cap = 100
    # A lone report trims (x0.9): one stray rejection at the limit is not an overload.
    state = POLICY.step(UNTHROTTLED, Event.THROTTLED, cap, 0)
    assert state.rate == 90.0
    # A second report inside the cooldown describes the same overload.
    assert POLICY.step(state, Event.THROTTLED, cap, WINDOW_US // 2) == state
    # Two clean seconds regrew 90 -> 100 (+10% of cap per second, capped). A report
    # then, with the first still remembered, says the trim was not enough: halve.
    state = POLICY.step(state, Event.THROTTLED, cap, 2 * WINDOW_US)
    assert POLICY.effective_rate(state, cap, 2 * WINDOW_US) == 50.0
    assert POLICY.effective_rate(state, cap, 3 * WINDOW_US) == 60.0
    assert POLICY.effective_rate(state, cap, 60 * WINDOW_US) == 100.0
    eager = BackoffPolicy(cooldown_us=0)
    rates = []
    for _ in range(5):
        state = eager.step(state, Event.THROTTLED, cap, 3 * WINDOW_US)
        rates.append(state.rate)
    assert rates == [30.0, 15.0, 10.0, 10.0, 10.0]  # floor: 10% of cap
    # Forgotten after memory_us (10 s) without a report: the next lone one trims again.
    later = 3 * WINDOW_US + POLICY.memory_us
    assert POLICY.step(state, Event.THROTTLED, cap, later).rate == 90.0


@given(cap=caps_st, rate=st.floats(min_value=0, max_value=2000), since=times, now=times)
def test_throttle_halves_but_respects_floor_and_cap(
    cap: int, rate: float, since: int, now: int
) -> None:
    state = RateState(rate, since)  # never backed off: a lone report trims
    before = POLICY.effective_rate(state, cap, now)
    after = POLICY.step(state, Event.THROTTLED, cap, now)
    assert after.rate == max(0.1 * cap, before * 0.9)
    assert 0.1 * cap <= POLICY.effective_rate(after, cap, now) <= cap
    # Reported again past the cooldown but within memory: halved.
    again = now + POLICY.cooldown_us
    before = POLICY.effective_rate(after, cap, again)
    assert POLICY.step(after, Event.THROTTLED, cap, again).rate == max(0.1 * cap, before * 0.5)


@given(cap=caps_st, start=times, waits=st.lists(seconds_us, min_size=1, max_size=5))
def test_recovery_is_monotone_capped_and_complete(cap: int, start: int, waits: list[int]) -> None:
    # Backed off to half, as a repeated report leaves it (a lone one trims, see above).
    state = RateState(0.5 * cap, start, start)
    last = POLICY.effective_rate(state, cap, start)
    for wait in sorted(waits):
        rate = POLICY.effective_rate(state, cap, start + wait)
        assert last <= rate <= cap
        assert rate <= state.rate + 0.1 * cap * wait / WINDOW_US + 1e-9  # additive, not faster
        last = rate
    # Half the cap regrows at 10% of the cap per second: whole again after 5 clean seconds.
    assert POLICY.effective_rate(state, cap, start + 5 * WINDOW_US - 1) < cap
    assert POLICY.effective_rate(state, cap, start + 5 * WINDOW_US) == cap


@given(cap=caps_st, rate=st.floats(min_value=1, max_value=1000), t1=seconds_us, t2=seconds_us)
def test_tick_does_not_change_the_future(cap: int, rate: float, t1: int, t2: int) -> None:
    state = RateState(min(rate, cap), 0)
    ticked = POLICY.step(state, Event.TICK, cap, t1)
    later = t1 + t2
    direct = POLICY.effective_rate(state, cap, later)
    assert math.isclose(POLICY.effective_rate(ticked, cap, later), direct, rel_tol=1e-9)


def test_clock_going_backwards_does_not_drop_the_rate() -> None:
    state = RateState(20.0, 10 * WINDOW_US)
    assert POLICY.effective_rate(state, 100, 5 * WINDOW_US) == 20.0


@given(limit=st.integers(min_value=0, max_value=1000), share=st.floats(min_value=0, max_value=0.99))
def test_urgent_reserve(limit: int, share: float) -> None:
    urgent = allowance(limit, Priority.URGENT, share)
    digest = allowance(limit, Priority.DIGEST, share)
    assert urgent == limit
    assert 0 <= digest <= limit
    assert urgent - digest >= limit * share


def test_admit_worked_example() -> None:
    first = admit((), 0, 60, Priority.URGENT, 50)
    assert (first.granted, first.retry_after_us) == (50, WINDOW_US)
    assert admit(first.log, WINDOW_US - 1, 1, Priority.URGENT, 50).granted == 0
    assert admit(first.log, WINDOW_US, 1, Priority.URGENT, 50).granted == 1
    digest = admit((), 0, 60, Priority.DIGEST, 50)
    assert digest.granted == 40  # 10 of 50 reserved for urgent
    assert admit(digest.log, 1, 60, Priority.URGENT, 50).granted == 10
    spread = admit((0, 100, 200), 300, 5, Priority.URGENT, 4)
    assert (spread.granted, spread.retry_after_us) == (1, WINDOW_US - 300)
