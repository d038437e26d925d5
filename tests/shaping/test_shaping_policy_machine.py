"""Drive the pure policy through random acquire/throttle/advance-time histories."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from shaping.operators import Operator
from shaping.policy import (
    DEFAULT_URGENT_SHARE,
    UNTHROTTLED,
    WINDOW_US,
    BackoffPolicy,
    Event,
    OperatorCaps,
    Priority,
    RateState,
    admit,
    allowance,
    window_limit,
)

CAPS = OperatorCaps.parse("vodafone=50,orange=7,we=1")
OPERATORS = [Operator.VODAFONE, Operator.ORANGE, Operator.WE, Operator.UNKNOWN]
POLICY = BackoffPolicy()


def _in_window(stamps: list[int], now_us: int) -> int:
    return sum(1 for t in stamps if now_us - WINDOW_US < t <= now_us)


class ShapingMachine(RuleBasedStateMachine):
    """Model every worker's view: one clock, one log and one rate state per operator."""

    @initialize(start=st.integers(min_value=0, max_value=10**15))
    def start(self, start: int) -> None:
        self.now = start
        self.state: dict[Operator, RateState] = {op: UNTHROTTLED for op in OPERATORS}
        self.log: dict[Operator, tuple[int, ...]] = {op: () for op in OPERATORS}
        self.grants: dict[Operator, list[int]] = {op: [] for op in OPERATORS}
        self.digests: dict[Operator, list[int]] = {op: [] for op in OPERATORS}
        self.pending: tuple[Operator, Priority, int] | None = None

    def _limit(self, op: Operator) -> int:
        return window_limit(POLICY.effective_rate(self.state[op], CAPS.cap_for(op), self.now))

    @rule(
        op=st.sampled_from(OPERATORS),
        n=st.integers(min_value=1, max_value=60),
        priority=st.sampled_from(Priority),
    )
    def acquire(self, op: Operator, n: int, priority: Priority) -> None:
        limit = self._limit(op)
        live = _in_window(self.grants[op], self.now)
        got = admit(self.log[op], self.now, n, priority, limit, DEFAULT_URGENT_SHARE)
        assert 0 <= got.granted <= n
        if priority is Priority.URGENT:
            # Urgent traffic is never starved by digests: only the limit stops it.
            assert got.granted == min(n, max(0, limit - live))
        # Any later acquire may take the slot a pending retry_after promised.
        self.pending = None
        if got.granted < n:
            assert 0 < got.retry_after_us <= WINDOW_US
            self.pending = (op, priority, got.retry_after_us)
        else:
            assert got.retry_after_us == 0
        self.log[op] = got.log
        self.grants[op] += [self.now] * got.granted
        if priority is Priority.DIGEST:
            self.digests[op] += [self.now] * got.granted
        # Each grant was checked against the window that ends at it.
        assert _in_window(self.grants[op], self.now) <= max(limit, live)
        assert _in_window(self.digests[op], self.now) <= max(
            allowance(limit, Priority.DIGEST, DEFAULT_URGENT_SHARE), live
        )

    @rule(dt=st.one_of(st.integers(0, 2_000), st.integers(0, WINDOW_US), st.just(WINDOW_US)))
    def advance(self, dt: int) -> None:
        self.now += dt

    @rule(op=st.sampled_from(OPERATORS), offset=st.integers(min_value=-2, max_value=1))
    def advance_to_window_edge(self, op: Operator, offset: int) -> None:
        """Step to within a microsecond of a grant leaving the window: where off-by-ones live."""
        live = [t for t in self.grants[op] if t > self.now - WINDOW_US]
        if live:
            self.now = max(self.now, live[0] + WINDOW_US + offset)

    @precondition(lambda self: self.pending is not None)
    @rule()
    def wait_as_told(self) -> None:
        """A caller that sleeps retry_after gets at least one slot (rates only grow meanwhile)."""
        assert self.pending is not None
        op, priority, retry = self.pending
        self.pending = None
        if allowance(self._limit(op), priority, DEFAULT_URGENT_SHARE) <= 0:
            return  # nothing to wait for: this class has no share at this rate
        self.now += retry
        got = admit(self.log[op], self.now, 1, priority, self._limit(op), DEFAULT_URGENT_SHARE)
        assert got.granted == 1
        self.log[op] = got.log
        self.grants[op].append(self.now)
        if priority is Priority.DIGEST:
            self.digests[op].append(self.now)

    @rule(op=st.sampled_from(OPERATORS))
    def throttle(self, op: Operator) -> None:
        self.state[op] = POLICY.step(self.state[op], Event.THROTTLED, CAPS.cap_for(op), self.now)
        # A lower rate may invalidate the promise behind a pending retry_after.
        self.pending = None

    @rule(op=st.sampled_from(OPERATORS))
    def tick(self, op: Operator) -> None:
        before = POLICY.effective_rate(self.state[op], CAPS.cap_for(op), self.now)
        self.state[op] = POLICY.step(self.state[op], Event.TICK, CAPS.cap_for(op), self.now)
        assert POLICY.effective_rate(self.state[op], CAPS.cap_for(op), self.now) == before

    @invariant()
    def no_operator_over_its_cap(self) -> None:
        for op in OPERATORS:
            cap = CAPS.cap_for(op)
            stamps = self.grants[op]  # appended in time order
            # cap+1 consecutive grants must span at least a second, or some
            # one-second window would hold all of them.
            assert all(b - a >= WINDOW_US for a, b in zip(stamps, stamps[cap:]))

    @invariant()
    def rate_between_floor_and_cap(self) -> None:
        for op in OPERATORS:
            cap = CAPS.cap_for(op)
            rate = POLICY.effective_rate(self.state[op], cap, self.now)
            assert POLICY.floor_share * cap <= rate <= cap


ShapingMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestShapingMachine = ShapingMachine.TestCase
