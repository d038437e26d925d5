"""Pure shaping policy: caps, priorities, adaptive backoff and sliding-window admission.

Nothing here does I/O or reads a clock: every function takes ``now_us``
(microseconds, as Redis ``TIME`` gives it), so the Lua script in
``shaping.bucket`` can mirror it exactly and tests can drive it step by step.
Integer microseconds keep Python and Lua arithmetic bit-identical.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass

from shaping.operators import Operator

WINDOW_US = 1_000_000
DEFAULT_URGENT_SHARE = 0.2


class InvalidCaps(ValueError):
    """Signal a malformed operator caps setting."""


class InvalidPolicy(ValueError):
    """Signal policy parameters outside their meaningful range."""


class Priority(enum.IntEnum):
    """Order traffic classes: lower values are served first."""

    URGENT = 0  # absence alerts: must never wait behind bulk digests
    DIGEST = 1


class Event(enum.Enum):
    """Name what the shaper can learn about an operator."""

    THROTTLED = "throttled"  # a delivery report or submit error said "slow down"
    TICK = "tick"  # nothing happened: fold the recovery so far into the state


_ALIASES = {"e&": Operator.ETISALAT, "eand": Operator.ETISALAT}


@dataclass(frozen=True)
class OperatorCaps:
    """Hold the configured messages-per-second cap of each operator."""

    caps: tuple[tuple[Operator, int], ...]

    @classmethod
    def parse(cls, text: str) -> OperatorCaps:
        """Parse "vodafone=200,orange=150,etisalat=100,we=50" into caps."""
        caps: dict[Operator, int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, sep, value = (piece.strip() for piece in item.partition("="))
            if not sep:
                raise InvalidCaps(f"{item!r} is not name=rate")
            key = name.lower()
            operator = _ALIASES.get(key) or next((o for o in Operator if o.value == key), None)
            if operator is None:
                raise InvalidCaps(f"unknown operator {name!r}")
            if operator in caps:
                raise InvalidCaps(f"operator {name!r} is given twice")
            if not value.isdecimal():
                raise InvalidCaps(f"rate {value!r} for {name!r} is not a whole number >= 0")
            caps[operator] = int(value)
        return cls(tuple(sorted(caps.items(), key=lambda kv: kv[0].value)))

    def cap_for(self, operator: Operator) -> int:
        """Return the operator's cap; an unconfigured operator gets 0 (send nothing)."""
        # Failing closed: an operator we have no agreed rate with must not be
        # flooded just because the setting forgot it.
        return dict(self.caps).get(operator, 0)


@dataclass(frozen=True)
class RateState:
    """Record an operator's effective rate as of ``since_us`` and its last backoff."""

    rate: float
    since_us: int
    backed_off_us: int | None = None


UNTHROTTLED = RateState(rate=math.inf, since_us=0)


@dataclass(frozen=True)
class BackoffPolicy:
    """Shrink an operator's rate multiplicatively on throttling; regrow it linearly.

    AIMD with memory: a lone throttle report (none in the last ``memory_us``) trims the
    rate by ``first_factor`` - one stray rejection at the physical limit is noise (a late
    packet, a stall), not a sign the cap is wrong, and halving for it costs seconds of
    throughput. A report that comes while the previous backoff is still remembered means
    the trimmed rate still overloads the operator: that one multiplies by ``factor``.
    """

    factor: float = 0.5  # multiply the effective rate by this on a repeated throttle report
    floor_share: float = 0.1  # never go below this share of the cap
    recovery_share: float = 0.1  # regain this share of the cap per clean second
    # Many delivery reports describe the same overload; without a cooldown a
    # burst of 20 reports would halve the rate 20 times instead of once.
    cooldown_us: int = WINDOW_US
    first_factor: float = 0.9  # a lone report (nothing in memory) trims, never halves
    memory_us: int = 10 * WINDOW_US  # a report within this of the last backoff repeats it

    def __post_init__(self) -> None:
        if not 0 < self.factor < 1:
            raise InvalidPolicy(f"factor {self.factor} must be in (0, 1)")
        if not self.factor <= self.first_factor < 1:
            raise InvalidPolicy(f"first_factor {self.first_factor} must be in [factor, 1)")
        if self.memory_us < self.cooldown_us:
            raise InvalidPolicy(f"memory_us {self.memory_us} must be >= cooldown_us")
        if not 0 < self.floor_share <= 1:
            raise InvalidPolicy(f"floor_share {self.floor_share} must be in (0, 1]")
        if not self.recovery_share > 0:
            raise InvalidPolicy(f"recovery_share {self.recovery_share} must be > 0")
        if self.cooldown_us < 0:
            raise InvalidPolicy(f"cooldown_us {self.cooldown_us} must be >= 0")

    def recovery_per_second(self, cap: int) -> float:
        """Return how many messages/second of rate come back per clean second."""
        return self.recovery_share * cap

    def effective_rate(self, state: RateState, cap: int, now_us: int) -> float:
        """Return the rate in force at now_us, never above cap.

        Mirrored line for line in the Lua script; keep the operation order.
        """
        elapsed = max(0, now_us - state.since_us)
        return min(float(cap), state.rate + self.recovery_per_second(cap) * (elapsed / WINDOW_US))

    def step(self, state: RateState, event: Event, cap: int, now_us: int) -> RateState:
        """Return the state after event happens at now_us."""
        current = self.effective_rate(state, cap, now_us)
        if event is Event.TICK:
            return RateState(current, now_us, state.backed_off_us)
        since_last = None if state.backed_off_us is None else now_us - state.backed_off_us
        if since_last is not None and since_last < self.cooldown_us:
            return state
        repeated = since_last is not None and since_last < self.memory_us
        factor = self.factor if repeated else self.first_factor
        floor = self.floor_share * cap
        return RateState(max(floor, current * factor), now_us, now_us)


def window_limit(rate: float) -> int:
    """Return how many grants one sliding second may hold at this rate."""
    return math.floor(rate)


def allowance(limit: int, priority: Priority, urgent_share: float) -> int:
    """Return the grants priority may fill a window up to.

    Digests stop at ``limit - reserve``, so the top ``reserve`` slots of every
    sliding second stay free for urgent traffic however hard digests push;
    urgent traffic may use the whole limit.
    """
    if priority is Priority.URGENT:
        return limit
    return limit - math.ceil(limit * urgent_share)


@dataclass(frozen=True)
class Admission:
    """Report what one acquire attempt got and the grant log that results."""

    granted: int
    retry_after_us: int  # 0 when everything asked for was granted
    log: tuple[int, ...]  # grant times in the last second, oldest first


def admit(
    log: Sequence[int],
    now_us: int,
    n: int,
    priority: Priority,
    limit: int,
    urgent_share: float = DEFAULT_URGENT_SHARE,
) -> Admission:
    """Grant up to n slots at now_us so no sliding second exceeds limit.

    A grant at t is allowed only if the grants in (t - 1 s, t], itself
    included, number at most the limit. Any one-second window's grants all
    lie within one second before its last grant, so that check bounds every
    window, not just windows ending at a grant.
    """
    live = tuple(t for t in log if t > now_us - WINDOW_US)
    allowed = allowance(limit, priority, urgent_share)
    granted = max(0, min(n, allowed - len(live)))
    after = live + (now_us,) * granted
    if granted == n:
        return Admission(granted, 0, after)
    if allowed <= 0:
        return Admission(granted, WINDOW_US, after)
    # The window frees a slot for us once the k-th oldest grant ages out.
    k = len(after) - allowed + 1
    return Admission(granted, after[k - 1] + WINDOW_US - now_us, after)


@dataclass(frozen=True)
class Paced:
    """Report the send moments one paced acquire got, and the state that results."""

    delays_us: tuple[int, ...]  # from now, one per granted message, increasing
    retry_after_us: int  # 0 when everything asked for was granted
    log: tuple[int, ...]  # granted moments in the live window, oldest first
    next_free_us: int


def pace(log: Sequence[int], next_free_us: int, now_us: int, n: int, priority: Priority,
         limit: int, *, span_us: int = WINDOW_US, horizon_us: int, lead_us: int = 0,
         urgent_share: float = DEFAULT_URGENT_SHARE) -> Paced:
    """Grant up to n send moments spaced span/limit apart, none beyond now + horizon.

    Mirrored by ``PACE_LUA``. The sliding-window bound of :func:`admit` holds for
    the moments themselves: no span-long window holds more than the allowance.
    Spacing the moments evenly is what lets a small guard absorb arrival jitter:
    a burst granted at the top of a second arrives as a burst, jitter and all.
    """
    live = sorted(t for t in log if t > now_us - span_us)
    allowed = allowance(limit, priority, urgent_share)
    if allowed <= 0:
        return Paced((), span_us, tuple(live), next_free_us)
    interval = span_us // limit
    at = max(now_us + lead_us, next_free_us)
    delays: list[int] = []
    retry = 0
    while len(delays) < n:
        if at - now_us > horizon_us:
            retry = at - horizon_us - now_us
            break
        window = [t for t in live if t > at - span_us]
        if len(window) >= allowed:
            at = window[len(window) - allowed] + span_us
            continue
        live.append(at)
        delays.append(at - now_us)
        at += interval
    return Paced(tuple(delays), retry, tuple(live), at if delays else next_free_us)
