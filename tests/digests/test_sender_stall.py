"""A path that holds what was sent stops the booking until it answers (issue 16).

Through the real Sender, outbox and shaper (real Redis, both databases); the provider
stands for a stalled path: it holds every request until the test releases it.
"""

from __future__ import annotations

import threading
import time

from sms_support import DAY, states

from digests import outbox
from digests.outbox import Draft, RetryPolicy
from digests.providers.base import Outcome, Submission, SubmitResult
from digests.sender import STALL_WAIT, Sender
from digests.services import build_shaper
from shaping import keys
from shaping.operators import Operator
from shaping.path import STALL_US
from shaping.policy import OperatorCaps


class HeldPath:
    """Answers nothing until released, as a stalled path to the operators."""

    name = "held"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def submit(self, message: Submission) -> SubmitResult:
        self.entered.set()
        self.release.wait(timeout=30)
        return SubmitResult(Outcome.ACCEPTED, f"id-{message.outbox_id}", "Success")


def _drafts(first: int, n: int) -> list[Draft]:
    return [Draft("daily_digest", DAY, f"+2010{i:08d}", "ar", f"حضور {i}")
            for i in range(first, first + n)]


def _held_sender(runtime) -> tuple[Sender, HeldPath]:  # type: ignore[no-untyped-def]
    """One message queued for vodafone (cap 200, no quiet hours) and a Sender on a held path."""
    runtime.config = runtime.config.with_overrides(quiet_start_hour=0, quiet_end_hour=0,
                                                   operator_caps="vodafone=200",
                                                   sms_urgent_share=0.0)
    with runtime.sessions() as s, s.begin():
        outbox.enqueue(s, _drafts(0, 1))
    path = HeldPath()
    sender = Sender(runtime.sessions, build_shaper(runtime),
                    OperatorCaps.parse(runtime.config.operator_caps), path,
                    RetryPolicy(quiet_start_hour=0, quiet_end_hour=0), threads=2)
    return sender, path


def test_nothing_is_booked_while_the_path_holds_what_was_sent(runtime) -> None:  # type: ignore[no-untyped-def]
    sender, path = _held_sender(runtime)
    first = threading.Thread(target=sender.run_once)
    try:
        first.start()
        assert path.entered.wait(timeout=30)  # the first message is out, unanswered
        time.sleep(3 * STALL_US / 1e6)  # held longer than any answer came back: a stall
        with runtime.sessions() as s, s.begin():
            outbox.enqueue(s, _drafts(1, 5))
        assert sender.run_once() == STALL_WAIT  # booked nothing, claimed nothing
        assert states(runtime) == {"submitted": 1, "queued": 5}
        path.release.set()  # the path answers: booking goes on
        first.join(timeout=30)
        while sender.run_once() == 0.0:
            pass
    finally:
        path.release.set()
        first.join(timeout=30)
        sender.close()
    assert states(runtime) == {"sent": 6}


def test_a_stalls_burst_is_counted_in_the_chain_where_it_landed(runtime) -> None:  # type: ignore[no-untyped-def]
    """Booking arrivals (the default), a message the path held is moved in the shared chain
    from its booked arrival to when it landed, so the next arrivals wait for it there."""
    sender, path = _held_sender(runtime)
    log_key = keys.grant_log(Operator.VODAFONE)
    first = threading.Thread(target=sender.run_once)
    try:
        first.start()
        assert path.entered.wait(timeout=30)
        [(_, booked)] = runtime.redis.zrange(log_key, 0, -1, withscores=True)
        # Held longer than the sender's jitter allowance (the tests' 400 ms guard floor).
        time.sleep(2 * runtime.config.shaper_guard_ms / 1000)
        seconds, micros = runtime.redis.time()
        released = seconds * 1_000_000 + micros
        path.release.set()
        first.join(timeout=30)
        with runtime.sessions() as s, s.begin():
            outbox.enqueue(s, _drafts(1, 5))
        assert sender.run_once() == 0.0
        stamps = [int(score) for _, score in runtime.redis.zrange(log_key, 0, -1,
                                                                  withscores=True)]
        assert int(booked) not in stamps  # moved from where it was booked...
        assert len(stamps) == 6 and min(stamps) >= released - 5_000  # ...to where it landed
        while sender.run_once() == 0.0:
            pass
    finally:
        path.release.set()
        first.join(timeout=30)
        sender.close()
    assert states(runtime) == {"sent": 6}
