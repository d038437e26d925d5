"""Network-like latency between the sender and the simulated operators (bench knobs).

A real path's delay is not a fresh dice roll per packet: it drifts (queues fill and
drain), packets on it keep their order, and now and then the whole path stalls and then
releases what it held in one burst. ``PathLatency`` models exactly that:

* a path delay that random-walks inside ``[low, high]`` (a step of a tenth of the range
  every 100 ms, reflected at the bounds), plus up to 1 ms of per-message noise;
* stalls of ``stall`` seconds starting at random (exponential gaps, mean ``stall_every``):
  a message that reaches the path during a stall waits for its end.

``mode="iid"`` instead draws each message's delay uniformly from ``[low, high]`` (no
order kept): the harshest reading of "5-80 ms jitter", for comparison.
Deterministic for a seed; the clock is passed in, so tests can drive it.
"""

from __future__ import annotations

import random
import threading

STEP_EVERY = 0.1  # seconds between random-walk steps of the path delay
NOISE = 0.001  # seconds of per-message noise on top of the path delay


class PathLatency:
    """Return how long a message received at ``now`` waits before it reaches the operator."""

    def __init__(self, low: float, high: float, *, stall: float = 0.0, stall_every: float = 0.0,
                 mode: str = "path", seed: int = 0) -> None:
        if not 0 <= low <= high:
            raise ValueError(f"need 0 <= low {low} <= high {high}")
        if mode not in ("path", "iid"):
            raise ValueError(f"mode {mode!r} is 'path' or 'iid'")
        self.low, self.high, self.mode = low, high, mode
        self.stall, self.stall_every = stall, stall_every
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._delay = (low + high) / 2
        self._stepped_at: float | None = None
        self._next_stall: float | None = None
        self._stall_until = 0.0
        self.stalls = 0
        self.spans: list[tuple[float, float]] = []  # every stall: (start, end)
        self._walk: list[tuple[float, float]] = []  # (time, path delay) at every step

    def delay(self, now: float) -> float:
        """Return the seconds a message received at ``now`` spends on the path."""
        with self._lock:
            if self._stepped_at is None:
                self._stepped_at = now
                self._next_stall = now + self._gap()
            wait = self._stalled(now)
            if self.mode == "iid":
                return wait + self._rng.uniform(self.low, self.high)
            step = (self.high - self.low) / 10
            while now - self._stepped_at >= STEP_EVERY:
                self._stepped_at += STEP_EVERY
                self._delay += self._rng.uniform(-step, step)
                if self._delay < self.low:
                    self._delay = 2 * self.low - self._delay
                if self._delay > self.high:
                    self._delay = 2 * self.high - self._delay
                self._delay = min(self.high, max(self.low, self._delay))
                self._walk.append((self._stepped_at, self._delay))
            return wait + self._delay + self._rng.uniform(0, NOISE)

    def largest_fall(self, window: float = 1.0) -> float:
        """Return the most the path delay fell within ``window`` seconds (stalls apart).

        What a sender pacing at a fixed guard had to cover: moments spaced over
        ``1 s + fall`` keep every arrival second within the cap on this path, no closer
        spacing does for sure. (``iid``: the whole range; each message draws afresh.)
        """
        with self._lock:
            if self.mode == "iid":
                return self.high - self.low
            walk = list(self._walk)
        fall, start = 0.0, 0
        for end, (t, delay) in enumerate(walk):
            while walk[start][0] < t - window:
                start += 1
            fall = max(fall, max(d for _, d in walk[start:end + 1]) - delay)
        return fall

    def _gap(self) -> float:
        if self.stall <= 0 or self.stall_every <= 0:
            return float("inf")
        return self._rng.expovariate(1 / self.stall_every)

    def _stalled(self, now: float) -> float:
        assert self._next_stall is not None
        if now >= self._next_stall:
            self._stall_until = self._next_stall + self.stall
            self.spans.append((self._next_stall, self._stall_until))
            self._next_stall = self._stall_until + self._gap()
            self.stalls += 1
        return max(0.0, self._stall_until - now)
