"""Redis TIME onto a process's monotonic clock, for send moments booked in Redis time."""

from __future__ import annotations

import threading
from collections import deque


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

    @property
    def offset(self) -> float:
        """Return the best offset so far (Redis seconds - monotonic); 0 before any sample."""
        with self._lock:
            return min(self._samples)[1] if self._samples else 0.0

    def observe(self, sent: float, received: float, server_us: int) -> float:
        """Record one call's sample; return the best offset (Redis seconds - monotonic)."""
        sample = (received - sent, server_us / 1_000_000 - (sent + received) / 2)
        with self._lock:
            self._samples.append(sample)
            return min(self._samples)[1]
