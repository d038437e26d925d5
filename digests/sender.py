"""The sending loop: book paced send moments, claim, hand over at each moment, record."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from core import calendar
from core.model_base import utcnow
from digests import claims, dlr, outbox, recording
from digests.models import OutboxMessage
from digests.moments import RECHECK, Pipeline, Round, favour_latency
from digests.outbox import RetryPolicy
from digests.recording import Recording
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
from shaping.path import PathMargin
from shaping.operators import Operator
from shaping.policy import OperatorCaps

log = logging.getLogger(__name__)
_ACCEPTED = Outcome.ACCEPTED.value

HORIZON = 0.5  # seconds: how far ahead a sender books send moments
LEAD = 0.15  # seconds: book the next moments this long before the booked ones run out
BOOK_LEAD = 0.03  # seconds: the first booked moment leaves time to claim its row
MAX_OPEN_ROUNDS = 2  # claimed but not yet recorded: what a killed sender leaves in doubt
MAX_IN_FLIGHT = 200  # messages claimed and not yet recorded, per sender (HUDOOR_SMS_MAX_IN_FLIGHT)
STALL_WAIT = 0.02  # seconds: ask again this soon while the path holds what was sent
STAMPS_KEEP_US = 3_000_000  # booked moments kept for a stall's rebooking
SCHEDULES = ("arrival", "departure")  # what a booked moment is (HUDOOR_SHAPER_SCHEDULE)


def _now_us() -> int:
    return int(time.monotonic() * 1e6)


class MissedMoment(ProviderUnavailable):
    """A message that could not leave at its booked moment: given back, not sent late."""


@dataclass
class SendStats:
    """What a sender did, for logs and the bench."""

    submitted: int = 0
    accepted: int = 0
    refused: int = 0
    throttled: int = 0
    in_doubt: int = 0
    idle_waits: int = 0
    missed: int = 0  # moments given up because the message could not leave in time
    held: int = 0  # rounds not planned while USSD capture was under pressure (R2)
    held_back: int = 0  # booked messages given back: the pressure began after their round
    by_outcome: dict[str, int] = field(default_factory=dict)
    sql_cpu: dict[str, float] = field(default_factory=dict)  # seconds of SQL-thread CPU by step
    # Sums over bookings, µs: the guard, its jitter part, its path part (drift or the
    # delay estimate's miss), and how early a moment leaves (the path's delay, arrivals).
    guard_us: dict[str, int] = field(default_factory=dict)
    bookings: int = 0

    def guard_means_ms(self) -> dict[str, float]:
        """Return each guard part's mean over bookings, ms (for logs and the bench)."""
        n = max(1, self.bookings)
        return {k: round(v / n / 1000, 1) for k, v in self.guard_us.items()}


class Sender:
    """Send due outbox messages through one provider at the moments the shaper books.

    A round books evenly spaced send moments per operator from the shared shaper
    (``acquire_paced``), claims that many rows, sends each at its moment and
    records the answers in one transaction. ``run`` overlaps rounds: the next is
    booked while the current one still has ``LEAD`` seconds of moments to go, and
    answers are recorded on a thread of their own, so an operator's stream of
    moments has no gaps between rounds.
    """

    def __init__(self, sessions: sessionmaker[Session], shaper: RateShaper, caps: OperatorCaps,
                 provider: Provider, policy: RetryPolicy, *, batch: int = 500, threads: int = 32,
                 clock: Callable[[], datetime] = utcnow, horizon: float = HORIZON,
                 max_in_flight: int = MAX_IN_FLIGHT,
                 hold: Callable[[], str | None] | None = None,
                 schedule: str = "arrival") -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule {schedule!r} is one of {', '.join(SCHEDULES)}")
        self._sessions = sessions
        self._shaper = shaper
        self._caps = caps
        self._provider = provider
        self._policy = policy
        self._batch = batch
        self._horizon = horizon
        # At most MAX_OPEN_ROUNDS rounds are claimed and unrecorded at once, so this
        # per-round share bounds what a SIGKILL can leave in doubt to max_in_flight.
        self._per_round = max(1, max_in_flight // MAX_OPEN_ROUNDS)
        # The guard each booking uses follows the path to the operators as every answer
        # shows it, and a stall of that path stops the booking (shaping/path.py); the
        # configured guard is the floor of the sender's own jitter.
        floor_us = int(shaper.guard * 1_000_000)
        # Booking arrivals (the default), a moment is when the message is to reach the
        # operator: it leaves that moment less the path's delay as last measured.
        self._margin = PathMargin(floor_us=floor_us, ceiling_us=max(500_000, floor_us),
                                  arrival=schedule == "arrival")
        # HUDOOR_SHAPER_GUARD_MS=0 turns the give-back off (a message always leaves, late or
        # not); otherwise a message may leave as late as the sender's measured jitter (the
        # guard's own part for it, PathMargin.tolerance_us) beyond what all recent paid.
        self._give_back = floor_us > 0
        self._max_late: dict[int, float] = {}  # outbox id -> seconds, set when booked
        # Booking arrivals: each claimed message's moment as the chain holds it (Redis µs),
        # by (operator, moment µs), so a stall's burst can be moved to where it landed.
        self._stamps: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sms-send")
        self._clock = clock
        self._hold = hold  # a reason to send nothing now (USSD capture under pressure), or None
        self.stats = SendStats()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def run_once(self) -> float:
        """Book, send and record one round; return seconds to wait (0: call again at once)."""
        planned = self._plan()
        if isinstance(planned, float):
            return planned
        for i, (at, row) in enumerate(planned.moments):
            leave = self._wait_to_leave(at)
            planned.futures[i] = self._pool.submit(self._submit_at, row, at, leave)
        self._record_round(planned)
        return 0.0

    def early(self) -> float:
        """Return how long before its booked moment a message leaves, seconds: the path's
        delay when moments are arrivals (shaping/path.py, ``PathMargin.lead_us``)."""
        return self._margin.lead_us(_now_us()) / 1e6

    def _wait_to_leave(self, moment: float) -> float:
        """Sleep until the message booked for ``moment`` is to leave; return that time."""
        while (leave := moment - self.early()) - time.monotonic() > 0.0005:
            time.sleep(min(leave - time.monotonic(), RECHECK))
        return leave

    def _plan(self) -> Round | float:
        """Book moments and claim rows for them; or return how long to wait."""
        now = self._clock()
        if calendar.in_quiet_hours(now, self._policy.quiet_start_hour,
                                   self._policy.quiet_end_hour):
            return 60.0
        if self._hold is not None and self._hold():
            self.stats.held += 1
            return 1.0  # capture first: nothing claimed, nothing booked, ask again in a second
        with self._sessions() as session:
            # Counts past a round's budget change nothing below (demand, shares, grants).
            groups = claims.due_counts(session, now, min(self._batch, self._per_round))
        if not groups:
            return 0.5
        if self._margin.stalled(_now_us()):
            return STALL_WAIT  # the path holds what was sent: nothing joins the burst
        self._rebook()
        moments: list[tuple[float, OutboxMessage]] = []
        waits = [0.5]
        budget = self._per_round
        rates = {op: self._caps.cap_for(op) for op, _, _ in groups}
        total = sum(r for r in rates.values() if r > 0) or 1
        # Each operator's share of the round's budget follows its cap, but only when the
        # budget is short of what is due: first come, first served then left the last
        # operator nothing. With room for all, each operator books what it has due.
        demand = sum(min(count, self._batch) for op, _, count in groups if rates[op] > 0)
        split = demand > self._per_round
        grants = []
        for operator, priority, count in groups:  # urgent first
            if rates[operator] <= 0:
                continue  # no agreed rate with this operator: hold its messages
            if budget <= 0:
                break
            share = max(1, -(-self._per_round * rates[operator] // total)) if split else count
            guard_us = self._note_guard(_now_us())
            # A booked arrival leaves the path's delay before it: book that much later.
            lead = min(BOOK_LEAD + self.early(), self._horizon / 2)
            grant = self._shaper.acquire_paced(operator, min(count, self._batch, budget, share),
                                               priority=priority, horizon=self._horizon,
                                               lead=lead, guard_us=guard_us)
            if not grant.granted:
                waits.append(grant.retry_after)
                continue
            budget -= grant.granted
            grants.append((operator, priority, grant, guard_us))
        if not grants:
            return min(waits)
        # One claim transaction for the round, every operator's rows in it. Moments a
        # row cannot fill (another sender claimed it) stay unused: a gap, never a burst.
        with self._sessions() as session, session.begin():
            claimed = claims.claim_groups(session, [(operator, priority, grant.granted)
                                                    for operator, priority, grant, _ in grants],
                                          self._clock())
        for (operator, _, grant, guard_us), rows in zip(grants, claimed):
            if self._give_back:
                # Late beyond what every recent message paid, by more than the jitter the
                # guard allows for (a 300 ms tolerance after a stall let clumps leave).
                now_us = _now_us()
                late_us = (self._margin.baseline_us(operator.value, now_us)
                           + self._margin.tolerance_us(now_us))
                for row in rows:
                    self._max_late[row.id] = late_us / 1e6
            moments += list(zip(grant.moments, rows))
            if self._margin.arrival:
                for moment, stamp, _ in zip(grant.moments, grant.stamps, rows):
                    self._stamps[(operator.value, int(moment * 1e6))] = stamp
        if not moments:
            return min(waits)
        moments.sort(key=lambda m: m[0])
        return Round(moments)

    def _note_guard(self, now_us: int) -> int:
        """Return the guard to book with now, adding its parts to the stats."""
        guard_us = self._margin.guard_us(now_us)
        path, _, _ = self._margin.parts(now_us)
        sums, stats = self.stats.guard_us, self.stats
        stats.bookings += 1
        for name, value in (("guard", guard_us), ("jitter", self._margin.tolerance_us(now_us)),
                            ("path", path), ("lead", self._margin.lead_us(now_us))):
            sums[name] = sums.get(name, 0) + value
        return guard_us

    def _rebook(self) -> None:
        """Put a stall's burst into the chain where it landed (booking arrivals): the
        messages it held count at their answers' reading, not at their booked moments."""
        by_operator: dict[str, list[tuple[int, float]]] = {}
        for key, moment_us, arrived_us in self._margin.take_moved():
            stamp = self._stamps.pop((key, moment_us), None)
            if stamp is not None:
                by_operator.setdefault(key, []).append((stamp, arrived_us / 1e6))
        for key, moved in by_operator.items():
            self._shaper.rebook(Operator(key), moved)
        # Moments older than the chain keeps (2 s) are of no use any more.
        stale = _now_us() - STAMPS_KEEP_US
        while self._stamps and next(iter(self._stamps))[1] < stale:
            self._stamps.popitem(last=False)

    def _record_round(self, done: Round) -> None:
        rows = [row for _, row in done.moments]
        self._record_answers(rows, [done.futures[i].result() for i in range(len(rows))])

    def _record_answers(self, rows: list[OutboxMessage],
                        answers: list[SubmitResult | ProviderError]) -> None:
        """Record a round's answers in one transaction, no ORM unit of work.

        Accepted with a message id (nearly every answer) is one statement for the round
        (``recording.accept``); the rest, and any accepted row a delivery report already
        waits for, are read and moved as plain values (one SELECT ... FOR UPDATE, one
        executemany UPDATE) by the state machine.
        """
        now = self._clock()
        throttled: set[str] = set()
        stats = self.stats
        fast: list[tuple[int, str]] = []  # (outbox id, provider message id)
        slow: list[tuple[int, SubmitResult | ProviderError]] = []
        for claimed, answer in zip(rows, answers):
            stats.submitted += 1
            if isinstance(answer, ProviderInDoubt):
                stats.in_doubt += 1  # stays SUBMITTED: a DLR or recovery decides
            elif (isinstance(answer, SubmitResult) and answer.outcome is Outcome.ACCEPTED
                  and answer.provider_message_id and not answer.reason):
                fast.append((claimed.id, answer.provider_message_id))
            else:
                slow.append((claimed.id, answer))
        if fast:
            stats.accepted += len(fast)
            stats.by_outcome[_ACCEPTED] = stats.by_outcome.get(_ACCEPTED, 0) + len(fast)
        with self._sessions() as session, session.begin(), session.no_autoflush:
            dlr.lock_ids(session, [a.provider_message_id for a in answers
                                   if isinstance(a, SubmitResult) and a.provider_message_id])
            recording.accept(session, fast, now)
            # Reports that came before these answers: their rows are moved in Python below.
            waiting = dlr.unmatched(session, [pid for _, pid in fast])
            ids = [i for i, _ in slow] + [i for i, pid in fast if pid in waiting]
            fresh = {r.id: r for r in Recording.load(session, ids)}
            accepted: list[Recording] = [fresh[i] for i, pid in fast if pid in waiting]
            for outbox_id, answer in slow:
                row = fresh[outbox_id]
                row.changed = True
                if isinstance(answer, MissedMoment):
                    outbox.release(row, self._policy, now, str(answer))  # type: ignore[arg-type]
                    row.next_attempt_at = now  # never handed over: due again at once
                elif isinstance(answer, ProviderError):
                    outbox.release(row, self._policy, now,  # type: ignore[arg-type]
                                   f"unreachable: {answer}"[:200])
                else:
                    self._record(session, row, answer, now)  # type: ignore[arg-type]
                    if answer.outcome is Outcome.ACCEPTED:
                        accepted.append(row)
                    elif answer.outcome is Outcome.THROTTLED:
                        throttled.add(row.operator)
            for row in accepted:
                row.changed = True
            dlr.apply_pending(session, accepted, self._policy, now)  # type: ignore[arg-type]
            Recording.store(session, [r for r in fresh.values() if r.changed])
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

    def _submit_at(self, row: OutboxMessage, moment: float,
                   leave: float | None = None) -> SubmitResult | ProviderError:
        """Send row now unless its moment passed longer ago than the shaper's guard absorbs.

        A message sent late lands in the next message's second at the operator; if it is
        later than the jitter its guard allows for beyond the lateness every recent message
        paid, it gives its moment up and waits for a new one instead. When each was sent
        and answered feeds the next guard (shaping/path.py).
        """
        missed = self._missed(row, moment, leave)
        if missed is not None:
            return missed
        answer = self._submit_one(row)
        self._answered(row, moment, answer)
        return answer

    def _missed(self, row: OutboxMessage, moment: float,
                leave: float | None = None) -> MissedMoment | None:
        """Note how late row leaves (after ``leave``, its moment unless moments are
        arrivals); a MissedMoment if too late to leave at all, or if USSD capture came
        under pressure since its round was booked (a round is up to a second of sending:
        capture does not wait for it)."""
        max_late = self._max_late.pop(row.id, None)
        if self._hold is not None and self._hold():
            self.stats.held_back += 1
            return MissedMoment("held: USSD capture under pressure")  # released, not an attempt
        now = time.monotonic()
        leave = moment if leave is None else leave
        late = now - leave
        moment_us, now_us = int(moment * 1e6), int(now * 1e6)
        self._margin.dispatched(row.operator, moment_us, int(late * 1e6), int(leave * 1e6))
        if max_late is not None and late > max_late:
            self.stats.missed += 1
            return MissedMoment("missed its send moment")  # released, not an attempt
        self._margin.sent(row.operator, moment_us, now_us)
        return None

    def _answered(self, row: OutboxMessage, moment: float,
                  answer: SubmitResult | ProviderError) -> None:
        """When the answer came back feeds the path's delay (shaping/path.py)."""
        if isinstance(answer, SubmitResult):
            self._margin.answered(row.operator, int(moment * 1e6), _now_us())
        else:
            self._margin.failed(row.operator, int(moment * 1e6))

    def _submit_one(self, row: OutboxMessage) -> SubmitResult | ProviderError:
        try:
            return self._provider.submit(Submission(row.id, row.msisdn, row.text))
        except ProviderError as exc:
            return exc

    def run(self, *, until_idle: bool = False, stop_after: float | None = None,
            grace: timedelta | None = None) -> SendStats:
        """Send rounds back to back; stop when nothing is due (until_idle) or after stop_after s."""
        started = time.monotonic()
        recovered_at = 0.0
        favour_latency()
        pipe = Pipeline(lambda row, at, leave: self._pool.submit(self._submit_at, row, at, leave),
                        self._record_round, lead=LEAD, max_open=MAX_OPEN_ROUNDS,
                        early=self.early)
        try:
            while stop_after is None or time.monotonic() - started < stop_after:
                if grace is not None and time.monotonic() - recovered_at > 2.0:
                    recovered_at = time.monotonic()
                    with self._sessions() as session, session.begin():
                        outbox.recover_in_doubt(session, self._clock(), grace, self._policy)
                pipe.wait_for_lead()
                planned = self._plan()
                if isinstance(planned, Round):
                    pipe.send(planned)
                    continue
                if planned >= 0.5 and until_idle:
                    pipe.drain()
                    if not self._has_due():
                        break
                self.stats.idle_waits += 1
                time.sleep(min(planned, 0.5))
        finally:
            pipe.close()
        return self.stats

    def _has_due(self) -> bool:
        with self._sessions() as session:
            return bool(claims.due_counts(session, self._clock(), 1))


