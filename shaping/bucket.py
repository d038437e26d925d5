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
from collections import deque
from dataclasses import dataclass
from typing import Any

import redis

from shaping import keys
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

log = logging.getLogger(__name__)

UNAVAILABLE_RETRY_AFTER = 1.0
DEFAULT_HORIZON = 0.5  # seconds: how far ahead a paced grant may reach
_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

_PRELUDE_LUA = r"""
-- KEYS[1] grant log: sorted set, score = grant time in µs of Redis TIME
-- KEYS[2] counter that keeps grant-log members unique
-- KEYS[3] rate-state hash written by report_throttle: rate, since_us
-- ARGV[1] cap (messages per second)      ARGV[2] recovery (msg/s regained per s)
-- ARGV[3] n wanted   ARGV[4] priority (0 urgent)   ARGV[5] urgent share
-- ARGV[6] span of the sliding window in µs: one second plus a guard for the
--         network jitter between a grant and its arrival at the operator
local WINDOW = 1000000
local SPAN = tonumber(ARGV[6])

-- The server's clock, not the caller's: machines may disagree by seconds.
-- Writing after TIME relies on effects replication, the default since Redis 5.
local t = redis.call('TIME')
local now = tonumber(t[1]) * WINDOW + tonumber(t[2])

local cap = tonumber(ARGV[1])
local recovery = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local priority = tonumber(ARGV[4])
local share = tonumber(ARGV[5])

-- Backed-off rate with linear recovery; same operations, same order as
-- BackoffPolicy.effective_rate, so Python and Lua agree to the bit.
local rate = cap
local state = redis.call('HMGET', KEYS[3], 'rate', 'since_us')
if state[1] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  rate = math.min(cap, tonumber(state[1]) + recovery * (elapsed / WINDOW))
end
local limit = math.floor(rate)

-- Digests stop short of the reserve, so urgent alerts always find room.
local allowed = limit
if priority ~= 0 then
  allowed = limit - math.ceil(limit * share)
end

-- Keep only grants in (now - 1 s, now]; %d because Lua 5.1 would print a
-- 16-digit number in %.14g and lose the microseconds.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now - SPAN))
"""

# Returns {granted, retry_after_us, now_us, limit}: every grant is for now.
ACQUIRE_LUA = _PRELUDE_LUA + r"""
local used = redis.call('ZCARD', KEYS[1])
local granted = math.max(0, math.min(n, allowed - used))

if granted > 0 then
  local last = redis.call('INCRBY', KEYS[2], granted)
  local stamp = string.format('%d', now)
  local entries = {}
  for i = 1, granted do
    entries[#entries + 1] = stamp
    entries[#entries + 1] = stamp .. ':' .. string.format('%d', last - granted + i)
  end
  redis.call('ZADD', KEYS[1], unpack(entries))
  -- Idle operators clean up after themselves; 2 s outlives every live grant
  -- (the guard is kept under a second).
  redis.call('PEXPIRE', KEYS[1], 2000)
  redis.call('PEXPIRE', KEYS[2], 2000)
end

local retry = 0
if granted < n then
  if allowed <= 0 then
    retry = SPAN
  else
    -- A slot frees once the k-th oldest grant ages out of the window.
    local k = used + granted - allowed + 1
    local oldest = redis.call('ZRANGE', KEYS[1], k - 1, k - 1, 'WITHSCORES')
    retry = tonumber(oldest[2]) + SPAN - now
  end
end
return {granted, retry, now, limit}
"""

# Paced grants: each slot is a moment, spaced span/limit apart, at most a horizon
# ahead of now; the grant log holds the moments, so the sliding-window bound holds
# for the moments the messages leave, not for when they were granted.
# KEYS[4] the next free moment (µs)   ARGV[7] horizon in µs
# Returns {granted, retry_after_us, now_us, limit, {delay_us...}}.
PACE_LUA = _PRELUDE_LUA + r"""
local HORIZON = tonumber(ARGV[7])
if allowed <= 0 then
  return {0, SPAN, now, limit, {}}
end
local interval = math.floor(SPAN / limit)
local at = math.max(now + tonumber(ARGV[8]), tonumber(redis.call('GET', KEYS[4]) or '0'))
local delays = {}
local retry = 0
while #delays < n do
  if at - now > HORIZON then
    retry = at - HORIZON - now
    break
  end
  local floor = '(' .. string.format('%d', at - SPAN)
  local used = redis.call('ZCOUNT', KEYS[1], floor, '+inf')
  if used >= allowed then
    -- The window ending at `at` is full: the earliest moment it has room is
    -- when its (used - allowed + 1)-th oldest moment ages out.
    local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], floor, '+inf', 'WITHSCORES',
                              'LIMIT', used - allowed, 1)
    at = tonumber(oldest[2]) + SPAN
  else
    local seq = redis.call('INCR', KEYS[2])
    local stamp = string.format('%d', at)
    redis.call('ZADD', KEYS[1], stamp, stamp .. ':' .. string.format('%d', seq))
    delays[#delays + 1] = at - now
    at = at + interval
  end
end
if #delays > 0 then
  redis.call('SET', KEYS[4], string.format('%d', at))
  -- Moments reach up to a horizon (< 1 s) ahead, and live a span after that.
  for i = 1, 2 do redis.call('PEXPIRE', KEYS[i], 3000) end
  redis.call('PEXPIRE', KEYS[4], 3000)
end
return {#delays, retry, now, limit, delays}
"""


class ClockOffset:
    """Map Redis TIME onto this process's time.monotonic(), NTP-style.

    A moment is booked in Redis time; a sender waits for it on its own clock. Taking
    "now" as the moment the reply arrived would shift a whole round of moments late
    whenever that reply was slow (a thread descheduled for 10 ms), and a round a
    second later, mapped well, would then land in the same operator second. Each call
    is a sample: offset = server time - midpoint, uncertain by half the round trip;
    the tightest of the recent samples wins.
    """

    KEEP = 64  # samples; at several calls a second, the last ~10 s

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float]] = deque(maxlen=self.KEEP)  # (rtt, offset)
        self._lock = threading.Lock()

    @property
    def calibrated(self) -> bool:
        return bool(self._samples)

    def observe(self, sent: float, received: float, server_us: int) -> float:
        """Record one call's sample; return the best offset (Redis seconds - monotonic)."""
        sample = (received - sent, server_us / 1_000_000 - (sent + received) / 2)
        with self._lock:
            self._samples.append(sample)
            return min(self._samples)[1]


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
        self._clock = ClockOffset()
        self._lock = threading.Lock()
        self._failures = 0

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
                      horizon: float = DEFAULT_HORIZON, lead: float = 0.0) -> Acquired:
        """Take up to n send moments for operator, evenly spaced, none beyond now + horizon.

        The caller sends message i at ``delays[i]`` seconds from now. Every worker
        shares one chain of moments per operator, so their messages interleave
        evenly instead of all leaving at the top of a second.
        """
        if n < 1:
            raise InvalidRequest(f"n must be >= 1, got {n}")
        if not 0 <= lead < horizon < 1:
            raise InvalidPolicy(f"need 0 <= lead {lead} < horizon {horizon} < 1 second")
        cap = self._caps.cap_for(operator)
        try:
            if not self._clock.calibrated:
                self._calibrate()
            sent = time.monotonic()
            granted, retry_us, now_us, limit, delays = self._pace(
                keys=keys.paced_keys(operator),
                args=[cap, repr(self._backoff.recovery_per_second(cap)), n, int(priority),
                      repr(self._urgent_share), self._span_us, int(horizon * 1_000_000),
                      int(lead * 1_000_000)],
            )
        except _UNREACHABLE as exc:
            self._count_failure("acquire", exc)
            return Acquired(0, UNAVAILABLE_RETRY_AFTER)
        offset = self._clock.observe(sent, time.monotonic(), int(now_us))
        return Acquired(int(granted), int(retry_us) / 1_000_000, int(now_us), int(limit),
                        tuple(int(d) / 1_000_000 for d in delays),
                        tuple((int(now_us) + int(d)) / 1_000_000 - offset for d in delays))

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
        seconds, micros = self._client.time()
        cap = self._caps.cap_for(operator)
        return self._backoff.effective_rate(state, cap, seconds * 1_000_000 + micros)

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
                        seconds, micros = pipe.time()
                        now_us = seconds * 1_000_000 + micros
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
