"""The simulated operators' behaviour: caps, failures, delivery reports (no HTTP here)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from simulator.inbox import Inbox
from simulator.latency import PathLatency
from shaping.operators import Operator, operator_for
from shaping.policy import OperatorCaps

# Per-recipient answers, in AT's vocabulary.
ACCEPTED = (101, "Success")
THROTTLED = (502, "RejectedByGateway")
INVALID = (403, "InvalidPhoneNumber")
BLACKLISTED = (406, "UserInBlacklist")


@dataclass(frozen=True)
class Faults:
    """Shares of messages that fail the way networks do (each in [0, 1])."""

    invalid: float = 0.0  # refused at submit, permanent
    blacklisted: float = 0.0  # refused at submit, permanent
    absent: float = 0.0  # accepted, then DLR AbsentSubscriber (transient)
    buffered: float = 0.0  # accepted, DLR Buffered, then Success
    duplicate_dlr: float = 0.0  # DLRs posted twice
    late_sent: float = 0.0  # a "Sent" DLR posted after the final one (out of order)
    dlr_delay: tuple[float, float] = (0.05, 0.5)  # seconds, uniform


@dataclass(frozen=True)
class Dlr:
    """A delivery report due at `due` (monotonic seconds)."""

    due: float
    fields: dict[str, str]


_NETWORK = {Operator.ORANGE: "60201", Operator.VODAFONE: "60202", Operator.ETISALAT: "60203",
            Operator.WE: "60204"}


@dataclass
class Counters:
    received: int = 0
    accepted: int = 0
    throttled: int = 0
    refused: int = 0
    duplicates: int = 0
    dlrs_posted: int = 0
    dlrs_failed: int = 0
    per_operator: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))


class Network:
    """Decide each submission's fate like a gateway in front of throttling operators."""

    def __init__(self, caps: OperatorCaps | None, faults: Faults, seed: int = 0,
                 latency: PathLatency | None = None, *, dlrs: bool = True) -> None:
        self._caps = caps  # None: no caps at all (measure the pipeline's own ceiling)
        self.latency = latency  # None: messages reach the operators as they arrive
        self._faults = faults
        self._dlrs = dlrs  # False: schedule no delivery reports (nobody posts them: benchmarks)
        # Message ids: one random prefix per network and a counter - unique like AT's, at
        # a fraction of uuid4's cost per message.
        self._id_prefix = "ATXid_" + uuid.uuid4().hex[:16]
        self._ids = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._windows: dict[Operator, deque[float]] = defaultdict(deque)
        self._accept_times: dict[Operator, list[float]] = defaultdict(list)
        self._throttle_times: dict[Operator, list[float]] = defaultdict(list)
        self._live: dict[tuple[str, str], int] = defaultdict(int)  # not-failed accepts
        self.counters = Counters()
        self.outbox: list[Dlr] = []
        self._in_flight = 0  # taken by a poster, not yet posted
        self.inbox = Inbox()  # what reached the operators, for /dev/sms

    def submit(self, number: str, text: str) -> dict[str, Any]:
        """Return the per-recipient answer for one number and queue its delivery reports."""
        answer = self._decide(number, text)
        message_id = answer["messageId"] if answer["statusCode"] == ACCEPTED[0] else None
        self.inbox.record(number, operator_for(number).value, text, answer["status"], message_id)
        return answer

    def _decide(self, number: str, text: str) -> dict[str, Any]:
        operator = operator_for(number)
        now = time.monotonic()
        with self._lock:
            c = self.counters
            c.received += 1
            per = c.per_operator[operator.value]
            per["received"] += 1
            if self._over_cap(operator, now):
                self._throttle_times[operator].append(now)
                c.throttled += 1
                per["throttled"] += 1
                return _answer(number, THROTTLED, None)
            roll = self._rng.random()
            f = self._faults
            if roll < f.invalid or operator is Operator.UNKNOWN:
                c.refused += 1
                return _answer(number, INVALID, None)
            if roll < f.invalid + f.blacklisted:
                c.refused += 1
                return _answer(number, BLACKLISTED, None)
            c.accepted += 1
            per["accepted"] += 1
            self._accept_times[operator].append(now)
            final_failed = roll < f.invalid + f.blacklisted + f.absent
            key = (number, text)
            if self._live[key] > 0:
                c.duplicates += 1
            if not final_failed:
                self._live[key] += 1
            self._ids += 1
            message_id = f"{self._id_prefix}{self._ids:016x}"
            if self._dlrs:
                self._schedule(message_id, number, operator, now, final_failed,
                               buffered=roll < f.invalid + f.blacklisted + f.absent + f.buffered)
        return _answer(number, ACCEPTED, message_id)

    def _over_cap(self, operator: Operator, now: float) -> bool:
        if self._caps is None:
            return False
        window = self._windows[operator]
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self._caps.cap_for(operator):
            return True
        window.append(now)
        return False

    def _schedule(self, message_id: str, number: str, operator: Operator, now: float,
                  failed: bool, buffered: bool) -> None:
        low, high = self._faults.dlr_delay
        base = {"id": message_id, "phoneNumber": number, "networkCode": _NETWORK.get(operator, ""),
                "retryCount": "0"}
        final = dict(base, status="Success")
        if failed:
            final = dict(base, status="AbsentSubscriber", failureReason="AbsentSubscriber")
        due = now + self._rng.uniform(low, high)
        reports = []
        if buffered and not failed:
            reports.append(Dlr(due, dict(base, status="Buffered")))
            due += self._rng.uniform(low, high)
        reports.append(Dlr(due, final))
        if self._rng.random() < self._faults.duplicate_dlr:
            reports.append(Dlr(due + self._rng.uniform(low, high), dict(final)))
        if self._rng.random() < self._faults.late_sent:
            reports.append(Dlr(due + self._rng.uniform(low, high), dict(base, status="Sent")))
        self.outbox.extend(reports)

    def take_due(self, now: float) -> list[Dlr]:
        """Remove and return the delivery reports due by now."""
        with self._lock:
            due = [d for d in self.outbox if d.due <= now]
            for dlr in due:
                self.inbox.delivered(dlr.fields["id"], dlr.fields["status"])
            if due:
                self.outbox = [d for d in self.outbox if d.due > now]
                self._in_flight += len(due)
            return due

    def count_dlr(self, *, posted: bool) -> None:
        """Count one delivery report posted (or given up on)."""
        with self._lock:
            self._in_flight -= 1
            if posted:
                self.counters.dlrs_posted += 1
            else:
                self.counters.dlrs_failed += 1

    def pending_dlrs(self) -> int:
        """Return delivery reports scheduled or being posted."""
        with self._lock:
            return len(self.outbox) + self._in_flight

    def stats(self) -> dict[str, Any]:
        """Return the counters and, per operator, the busiest one-second window seen."""
        with self._lock:
            c = self.counters
            ops: dict[str, Any] = {}
            for operator, per in c.per_operator.items():
                times = self._accept_times.get(Operator(operator), [])
                first = times[0] if times else 0.0
                ops[operator] = dict(per, max_window=_max_window(times),
                                     throttled_at=[round(t - first, 3) for t in
                                                   self._throttle_times.get(Operator(operator), [])],
                                     rate=_rate(times),
                                     cap=self._caps.cap_for(Operator(operator)) if self._caps
                                     else None)
            path = self.latency
            return {"stalls": path.stalls if path else 0,
                    "stalled_s": path.stalls * path.stall if path else 0.0,
                    "path_fall_ms": round(path.largest_fall() * 1000, 1) if path else 0.0,
                    "received": c.received, "accepted": c.accepted, "throttled": c.throttled,
                    "refused": c.refused, "duplicates": c.duplicates,
                    "dlrs_posted": c.dlrs_posted, "dlrs_failed": c.dlrs_failed,
                    "dlrs_pending": len(self.outbox) + self._in_flight, "operators": ops}


def _max_window(times: list[float]) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def _rate(times: list[float]) -> float:
    """Return the steady rate: accepts after the first second (the opening burst) per second."""
    steady = [t for t in times if t > times[0] + 1.0] if times else []
    if len(steady) < 2 or steady[-1] == steady[0]:
        return 0.0
    return (len(steady) - 1) / (steady[-1] - steady[0])


def _answer(number: str, code: tuple[int, str], message_id: str | None) -> dict[str, Any]:
    return {"statusCode": code[0], "number": number, "status": code[1],
            "cost": "EGP 0.2500" if message_id else "0", "messageId": message_id or "None"}
