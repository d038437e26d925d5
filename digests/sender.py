"""The sending loop: a shaper token per message, claim, hand over, record the answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core import calendar
from core.models import utcnow
from digests import dlr, outbox
from digests.models import OutboxMessage
from digests.outbox import RetryPolicy
from digests.providers.base import (
    Outcome,
    Provider,
    ProviderError,
    ProviderInDoubt,
    ProviderUnavailable,
    Submission,
    SubmitResult,
)
from shaping.bucket import RateShaper
from shaping.operators import Operator
from shaping.policy import OperatorCaps, Priority

log = logging.getLogger(__name__)

ROUNDS_PER_SECOND = 10
SLOT_WAIT_SECONDS = 10.0  # a claimed message gives up its claim if no slot comes


@dataclass
class SendStats:
    """What a sender did, for logs and the bench."""

    submitted: int = 0
    accepted: int = 0
    refused: int = 0
    throttled: int = 0
    in_doubt: int = 0
    idle_waits: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)


class Sender:
    """Send due outbox messages through one provider, never faster than the shaper allows."""

    def __init__(self, sessions: sessionmaker[Session], shaper: RateShaper, caps: OperatorCaps,
                 provider: Provider, policy: RetryPolicy, *, batch: int = 500, threads: int = 32,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._shaper = shaper
        self._caps = caps
        self._provider = provider
        self._policy = policy
        self._batch = batch
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sms-send")
        self._clock = clock
        self.stats = SendStats()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_once(self) -> float:
        """Send what the shaper allows now; return seconds to wait (0: call again at once)."""
        now = self._clock()
        if calendar.in_quiet_hours(now, self._policy.quiet_start_hour,
                                   self._policy.quiet_end_hour):
            return 60.0
        with self._sessions() as session:
            groups = outbox.due_groups(session, now)
        if not groups:
            return 0.5
        claimed: list[OutboxMessage] = []
        for operator, priority, count in groups:
            # A round claims about a tenth of a second's worth per operator: a
            # killed sender leaves at most that many messages in doubt. Each
            # message then waits for its own shaper slot just before its HTTP
            # call, so grant and arrival at the operator are milliseconds apart.
            cap = self._caps.cap_for(operator)
            if cap <= 0:
                continue  # no agreed rate with this operator: hold its messages
            size = min(count, self._batch, max(1, cap // ROUNDS_PER_SECOND))
            with self._sessions() as session, session.begin():
                claimed += outbox.claim(session, operator, priority, size, self._clock())
        if not claimed:
            return 0.5
        self._send(claimed)
        return 0.0

    def _send(self, rows: list[OutboxMessage]) -> None:
        answers = list(self._pool.map(self._submit_one, rows))
        now = self._clock()
        throttled: set[str] = set()
        with self._sessions() as session, session.begin(), session.no_autoflush:
            dlr.lock_ids(session, [a.provider_message_id for a in answers
                                   if isinstance(a, SubmitResult) and a.provider_message_id])
            accepted: list[OutboxMessage] = []
            fresh = {r.id: r for r in session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]))
                .with_for_update())}
            for claimed, answer in zip(rows, answers):
                row = fresh[claimed.id]
                self.stats.submitted += 1
                if isinstance(answer, ProviderInDoubt):
                    self.stats.in_doubt += 1  # stays SUBMITTED: a DLR or recovery decides
                elif isinstance(answer, ProviderError):
                    outbox.release(row, self._policy, now, f"unreachable: {answer}"[:200])
                else:
                    self._record(session, row, answer, now)
                    if answer.outcome is Outcome.ACCEPTED:
                        accepted.append(row)
                    elif answer.outcome is Outcome.THROTTLED:
                        throttled.add(row.operator)
            dlr.apply_pending(session, accepted, self._policy, now)
        for operator in sorted(throttled):
            self._shaper.report_throttle(Operator(operator))

    def _record(self, session: Session, row: OutboxMessage, answer: SubmitResult,
                now: datetime) -> None:
        outbox.record_result(session, row, answer, self._policy, now)
        key = answer.outcome.value
        self.stats.by_outcome[key] = self.stats.by_outcome.get(key, 0) + 1
        if answer.outcome is Outcome.ACCEPTED:
            self.stats.accepted += 1
        elif answer.outcome is Outcome.THROTTLED:
            self.stats.throttled += 1
        else:
            self.stats.refused += 1

    def _submit_one(self, row: OutboxMessage) -> SubmitResult | ProviderError:
        operator, priority = Operator(row.operator), Priority(row.priority)
        deadline = time.monotonic() + SLOT_WAIT_SECONDS
        while True:
            grant = self._shaper.try_acquire(operator, 1, priority=priority)
            if grant.granted:
                break
            if time.monotonic() > deadline:
                return ProviderUnavailable("no send slot in time")  # released, not sent
            time.sleep(max(grant.retry_after, 0.001))
        try:
            return self._provider.submit(Submission(row.id, row.msisdn, row.text))
        except ProviderError as exc:
            return exc

    def run(self, *, until_idle: bool = False, stop_after: float | None = None,
            grace: timedelta | None = None) -> SendStats:
        """Loop run_once; stop when nothing is due (until_idle) or after stop_after seconds."""
        started = time.monotonic()
        recovered_at = 0.0
        while stop_after is None or time.monotonic() - started < stop_after:
            if grace is not None and time.monotonic() - recovered_at > 2.0:
                recovered_at = time.monotonic()
                with self._sessions() as session, session.begin():
                    outbox.recover_in_doubt(session, self._clock(), grace, self._policy)
            wait = self.run_once()
            if wait >= 0.5 and until_idle and not self._has_due():
                break
            if wait:
                self.stats.idle_waits += 1
                time.sleep(min(wait, 0.5))
        return self.stats

    def _has_due(self) -> bool:
        with self._sessions() as session:
            return bool(outbox.due_groups(session, self._clock()))
