"""Share each operator's send rate across all workers through one Redis.

Why not a plain token bucket: a bucket of capacity C refilled at r/s admits
C + r*W grants in any window of W seconds, because it can be drained full at
the start of the window and keeps refilling during it. With C = r = cap that
is up to 2 * cap in one second - exactly the burst an operator's SMSC counts
as a violation. A bucket only honours the cap if C + r <= cap, which wastes
throughput (C = 1, r = cap - 1 loses one message a second; C = r = cap/2
loses half) and still needs tuning per cap.

So the "bucket" is a sliding-window log kept in a Redis sorted set: one
member per grant, scored with the Redis server time in microseconds. A grant
at t is made only if the grants in (t - 1 s, t], itself included, number at
most the operator's current limit (<= cap). Any one-second window's grants
lie within one second before its latest grant, and that grant was checked
against exactly that span, so NO one-second window anywhere holds more than
the cap; yet a steady sender still gets the full cap every second. Memory is
O(cap) members per operator (a few hundred), pruned on every call.

* Atomic: one Lua script reads, decides and writes, so concurrent workers on
  any machine cannot both take the last slot.
* One clock: the script reads ``redis.call('TIME')``, so skew between worker
  machines cannot widen the window; they never send timestamps.
* Priority: digests may only fill a window up to ``limit - reserve``; the
  reserve (a share of every second) is left for URGENT traffic.
* Backoff: the backed-off rate lives in a Redis hash, so a throttle report
  seen by one worker slows every worker; the script applies the linear
  recovery itself, mirroring ``BackoffPolicy.effective_rate``.
* Redis unreachable: fail closed. ``try_acquire`` grants nothing, asks the
  caller to retry in ``UNAVAILABLE_RETRY_AFTER`` seconds and counts the
  failure in ``redis_failures``. Sending unshaped could breach an operator's
  contract for every worker at once; a stalled queue only delays messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from shaping import keys
from shaping.clock import ClockOffset
from shaping.operators import Operator
from shaping.policy import (
    DEFAULT_URGENT_SHARE,
    UNTHROTTLED,
    BackoffPolicy,
    Event,
    InvalidPolicy,
    OperatorCaps,
    Priority,
    RateState,
)
from shaping.scripts import ACQUIRE_LUA, PACE_LUA, REBOOK_LUA

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_AFTER = 1.0
DEFAULT_HORIZON = 0.5  # seconds: how far ahead a paced grant may reach
MAX_GUARD_US = 999_999  # a guard stays under a second (the keys outlive two seconds)
_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

class InvalidRequest(ValueError):
    """Signal an acquire request that asks for fewer than one message."""


@dataclass(frozen=True)
class Acquired:
    """Report how many sends were granted and when to ask again."""

    granted: int
    retry_after: float  # seconds; 0.0 when everything asked for was granted
    server_time_us: int | None = None  # Redis TIME of the decision; None if Redis was down
    limit: int = 0  # the operator's per-second limit in force at that time
    delays: tuple[float, ...] = ()  # paced grants only: seconds from now to each send moment
    moments: tuple[float, ...] = ()  # paced grants only: the same moments on time.monotonic()

    @property
    def stamps(self) -> tuple[int, ...]:
        """Return the moments as booked in the log (Redis µs), for ``RateShaper.rebook``."""
        base = self.server_time_us or 0
        return tuple(base + round(d * 1_000_000) for d in self.delays)

    @property
    def unavailable(self) -> bool:
        """Return whether the shaper could not reach Redis (so granted is 0)."""
        return self.server_time_us is None


def _decode_state(raw: dict[Any, Any]) -> RateState:
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    if "rate" not in fields:
        return UNTHROTTLED
    backed_off = fields.get("backed_off_us")
    return RateState(
        rate=float(fields["rate"]),
        since_us=int(fields["since_us"]),
        backed_off_us=int(backed_off) if backed_off else None,
    )


def _encode_state(state: RateState) -> dict[str, str]:
    # repr() round-trips a float exactly, so Lua's tonumber sees the same value.
    fields = {"rate": repr(state.rate), "since_us": str(state.since_us)}
    if state.backed_off_us is not None:
        fields["backed_off_us"] = str(state.backed_off_us)
    return fields


class RateShaper:
    """Grant per-operator send slots from Redis so no second exceeds the cap."""

    def __init__(
        self,
        client: redis.Redis,
        caps: OperatorCaps,
        *,
        backoff: BackoffPolicy | None = None,
        urgent_share: float = DEFAULT_URGENT_SHARE,
        guard_us: int = 0,
        backoff_clock: Callable[[], int] | None = None,
    ) -> None:
        if not 0 <= guard_us < 1_000_000:
            raise InvalidPolicy(f"guard_us {guard_us} must be in [0, 1 s)")
        if not 0 <= urgent_share < 1:
            raise InvalidPolicy(f"urgent_share {urgent_share} must be in [0, 1)")
        self._client = client
        self._caps = caps
        self._backoff = backoff or BackoffPolicy()
        self._urgent_share = urgent_share
        # Grants are spaced over 1 s + guard: a message that reaches the operator
        # a little later than its grant then still falls in a window of its own.
        self._span_us = 1_000_000 + guard_us
        self._acquire = client.register_script(ACQUIRE_LUA)
        self._pace = client.register_script(PACE_LUA)
        self._rebook = client.register_script(REBOOK_LUA)
        self._clock = ClockOffset()
        self._lock = threading.Lock()
        self._failures = 0
        # Tests step the backoff through time with this (µs); by default Redis TIME, the
        # one clock every worker shares.
        self._backoff_clock = backoff_clock

    @property
    def guard(self) -> float:
        """Return the guard added to the window, in seconds (arrival jitter it absorbs)."""
        return (self._span_us - 1_000_000) / 1_000_000

    @property
    def redis_failures(self) -> int:
        """Return how many calls found Redis unreachable since this shaper was made."""
        with self._lock:
            return self._failures

    def _count_failure(self, what: str, exc: Exception) -> None:
        with self._lock:
            self._failures += 1
            count = self._failures
        # Log on the 1st, 2nd, 4th, 8th... failure: a dead Redis would
        # otherwise log once per message.
        if count & (count - 1) == 0:
            log.warning("shaping: Redis unreachable during %s (%d so far): %s", what, count, exc)

    def try_acquire(self, operator: Operator, n: int = 1, *, priority: Priority) -> Acquired:
        """Take up to n send slots for operator now; grant 0 if Redis is unreachable."""
        if n < 1:
            raise InvalidRequest(f"n must be >= 1, got {n}")
        cap = self._caps.cap_for(operator)
        try:
            granted, retry_us, now_us, limit = self._acquire(
                keys=keys.operator_keys(operator),
                args=[
                    cap,
                    repr(self._backoff.recovery_per_second(cap)),
                    n,
                    int(priority),
                    repr(self._urgent_share),
                    self._span_us,
                ],
            )
        except _UNREACHABLE as exc:
            self._count_failure("acquire", exc)
            return Acquired(0, UNAVAILABLE_RETRY_AFTER)
        return Acquired(int(granted), int(retry_us) / 1_000_000, int(now_us), int(limit))

    def acquire_paced(self, operator: Operator, n: int, *, priority: Priority,
                      horizon: float = DEFAULT_HORIZON, lead: float = 0.0,
                      guard_us: int | None = None) -> Acquired:
        """Take up to n send moments for operator, evenly spaced, none beyond now + horizon.

        The caller sends message i at ``delays[i]`` seconds from now. Every worker
        shares one chain of moments per operator, so their messages interleave
        evenly instead of all leaving at the top of a second. ``guard_us`` overrides the
        shaper's fixed guard for this booking (the sender passes the margin its measured
        arrival lateness asks for, ``shaping.path``).
        """
        if n < 1:
            raise InvalidRequest(f"n must be >= 1, got {n}")
        if not 0 <= lead < horizon < 1:
            raise InvalidPolicy(f"need 0 <= lead {lead} < horizon {horizon} < 1 second")
        span_us = self._span_us if guard_us is None else 1_000_000 + guard_us
        if not 1_000_000 <= span_us <= 1_000_000 + MAX_GUARD_US:
            raise InvalidPolicy(f"guard_us {guard_us} must be in [0, 1 s)")
        cap = self._caps.cap_for(operator)
        try:
            if not self._clock.calibrated:
                self._calibrate()
            sent = time.monotonic()
            granted, retry_us, now_us, limit, delays = self._pace(
                keys=keys.paced_keys(operator),
                args=[cap, repr(self._backoff.recovery_per_second(cap)), n, int(priority),
                      repr(self._urgent_share), span_us, int(horizon * 1_000_000),
                      int(lead * 1_000_000)],
            )
        except _UNREACHABLE as exc:
            self._count_failure("acquire", exc)
            return Acquired(0, UNAVAILABLE_RETRY_AFTER)
        offset = self._clock.observe(sent, time.monotonic(), int(now_us))
        return Acquired(int(granted), int(retry_us) / 1_000_000, int(now_us), int(limit),
                        tuple(int(d) / 1_000_000 for d in delays),
                        tuple((int(now_us) + int(d)) / 1_000_000 - offset for d in delays))

    def rebook(self, operator: Operator, moved: list[tuple[int, float]]) -> int:
        """Move booked moments to when their messages really arrived: ``(booked, Redis
        µs as granted; arrived, on time.monotonic())``. Return how many were still
        booked (older ones were pruned; their arrivals are counted all the same)."""
        if not moved:
            return 0
        offset = self._clock.offset
        args: list[int] = []
        for booked, arrived in moved:
            args += [booked, int(round((arrived + offset) * 1_000_000))]
        try:
            return int(self._rebook(keys=keys.operator_keys(operator)[:2], args=args))
        except _UNREACHABLE as exc:
            self._count_failure("rebook", exc)
            return 0

    def _calibrate(self, samples: int = 5) -> None:
        """Sample Redis TIME a few times before the first booking (its call may be slow:
        a new connection, a script load), so the first moments map as well as the rest."""
        for _ in range(samples):
            sent = time.monotonic()
            seconds, micros = self._client.time()
            self._clock.observe(sent, time.monotonic(), seconds * 1_000_000 + micros)

    def rate_state(self, operator: Operator) -> RateState:
        """Return the operator's stored backoff state (UNTHROTTLED if none)."""
        return _decode_state(self._client.hgetall(keys.rate_state(operator)))

    def effective_rate(self, operator: Operator) -> float:
        """Return the operator's rate in force now, by Redis time."""
        state = self.rate_state(operator)
        cap = self._caps.cap_for(operator)
        return self._backoff.effective_rate(state, cap, self._now_us(self._client))

    def _now_us(self, client: Any) -> int:
        if self._backoff_clock is not None:
            return self._backoff_clock()
        seconds, micros = client.time()
        return int(seconds) * 1_000_000 + int(micros)

    def report_throttle(self, operator: Operator) -> RateState | None:
        """Back the operator's shared rate off; return the new state, None if Redis is down."""
        key = keys.rate_state(operator)
        cap = self._caps.cap_for(operator)
        try:
            with self._client.pipeline() as pipe:
                while True:
                    try:
                        # Optimistic transaction: the pure policy decides in
                        # Python; WATCH retries if another worker wrote first.
                        pipe.watch(key)
                        state = _decode_state(pipe.hgetall(key))
                        now_us = self._now_us(pipe)
                        new = self._backoff.step(state, Event.THROTTLED, cap, now_us)
                        pipe.multi()
                        if new != state:
                            pipe.hset(key, mapping=_encode_state(new))
                        pipe.execute()
                        return new
                    except redis.WatchError:
                        continue
        except _UNREACHABLE as exc:
            self._count_failure("report_throttle", exc)
            return None
