"""Hammer one operator's limiter from a worker process or thread (test helper)."""

from __future__ import annotations

import time
from typing import Any

import redis

from shaping.bucket import RateShaper
from shaping.scripts import ACQUIRE_LUA
from shaping.operators import Operator
from shaping.policy import OperatorCaps, Priority

# Callers sleep at most this long when told to retry, so they pounce on
# freed slots the way a busy worker pool would.
MAX_NAP = 0.005


def hammer(
    shaper: RateShaper,
    operator: Operator,
    priority: Priority,
    seconds: float,
    n: int = 1,
) -> list[int]:
    """Acquire as fast as allowed for a while; return Redis grant times (µs), one per slot."""
    stamps: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = shaper.try_acquire(operator, n, priority=priority)
        assert got.server_time_us is not None
        stamps += [got.server_time_us] * got.granted
        if got.granted < n:
            time.sleep(min(got.retry_after, MAX_NAP))
    return stamps


def process_main(
    socket: str, caps: str, operator: str, priority: int, seconds: float, barrier: Any, out: Any
) -> None:
    """Run hammer in a spawned process, starting with the others; put stamps on out."""
    with redis.Redis(unix_socket_path=socket) as client:
        shaper = RateShaper(client, OperatorCaps.parse(caps))
        client.script_load(ACQUIRE_LUA)  # keep the first EVALSHA miss out of the timed run
        barrier.wait(timeout=30)
        out.put(hammer(shaper, Operator(operator), Priority(priority), seconds))
