"""The outbox's write paths: enqueue once, claim, record answers, recover, dead-letter."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.orm import Session

from core import calendar
from core.config import Config
from core.model_base import utcnow
from core.gsm import segment_count
from digests.models import OutboxMessage, OutboxState
from digests.providers.base import Outcome, SubmitResult
from digests.states import SENDABLE, Event, transition
from shaping.operators import Operator, operator_for
from shaping.policy import Priority


@dataclass(frozen=True)
class Draft:
    """A message to put in the outbox: its idempotency key makes it exist at most once."""

    kind: str
    day: date
    msisdn: str
    language: str
    text: str
    priority: Priority = Priority.DIGEST
    not_before: datetime | None = None
    tag: str = ""  # several a day to one number (probes): each tag is its own message

    @property
    def key(self) -> str:
        base = f"{self.kind}:{self.day.isoformat()}:{self.msisdn}"
        return f"{base}:{self.tag}" if self.tag else base


@dataclass(frozen=True)
class RetryPolicy:
    """When a transient failure is tried again: exponential, capped, outside quiet hours."""

    max_attempts: int = 4
    base_seconds: int = 60
    cap_seconds: int = 3600
    quiet_start_hour: int = 21
    quiet_end_hour: int = 7

    @classmethod
    def from_config(cls, config: Config) -> RetryPolicy:
        return cls(config.sms_max_attempts, config.sms_retry_base_seconds,
                   quiet_start_hour=config.quiet_start_hour, quiet_end_hour=config.quiet_end_hour)

    def next_attempt(self, attempts: int, now: datetime) -> datetime:
        """Return when attempt number attempts+1 may go out."""
        delay = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return self.not_quiet(now + timedelta(seconds=delay))

    def not_quiet(self, moment: datetime) -> datetime:
        """Return moment, or the end of the quiet hours it falls in."""
        return calendar.quiet_hours_end(moment, self.quiet_start_hour, self.quiet_end_hour)


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, object]]) -> int:
    # Imported here: a sender on SQLite need not load PostgreSQL's dialect to start.
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(OutboxMessage.id))
    return len(session.execute(stmt, rows).all())


# PostgreSQL: one statement of a few arrays per batch (unnest), however many rows; a
# multi-row VALUES list costs the driver more to build than the server to insert.
_PG_ARRAYS = (("idempotency_key", "text"), ("kind", "text"), ("day", "date"), ("msisdn", "text"),
              ("language", "text"), ("text", "text"), ("segments", "int"), ("encoding", "text"),
              ("operator", "text"), ("priority", "int"), ("next_attempt_at", "timestamptz"))
_PG_INSERT = text(
    "INSERT INTO sms_outbox (" + ", ".join(name for name, _ in _PG_ARRAYS)
    + ", state, attempts, created_at, updated_at) SELECT u.*, :state, 0, :now, :now FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _PG_ARRAYS)
    + ") AS u ON CONFLICT (idempotency_key) DO NOTHING")


def _insert_pg(session: Session, rows: list[dict[str, object]], now: datetime) -> int:
    params: dict[str, object] = {name: [row[name] for row in rows] for name, _ in _PG_ARRAYS}
    params.update(state=OutboxState.QUEUED.value, now=now)
    return session.execute(_PG_INSERT, params).rowcount


def enqueue(session: Session, drafts: Iterable[Draft], now: datetime | None = None) -> int:
    """Put drafts in the outbox, skipping any whose key is already there; return rows added."""
    now = now or utcnow()
    rows: list[dict[str, object]] = []
    for draft in drafts:
        info = segment_count(draft.text)
        rows.append({
            "idempotency_key": draft.key, "kind": draft.kind, "day": draft.day,
            "msisdn": draft.msisdn, "language": draft.language, "text": draft.text,
            "segments": info.segments, "encoding": info.encoding.value,
            "operator": operator_for(draft.msisdn).value, "priority": int(draft.priority),
            "state": OutboxState.QUEUED.value, "attempts": 0,
            "next_attempt_at": draft.not_before or now, "created_at": now, "updated_at": now,
        })
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return sum(_insert_pg(session, rows[start:start + 10_000], now)
                   for start in range(0, len(rows), 10_000))
    total = 0
    for start in range(0, len(rows), 1000):
        total += _insert_ignoring_duplicates(session, rows[start:start + 1000])
    return total


def _due(now: datetime) -> Select[tuple[int]]:
    return select(OutboxMessage.id).where(
        OutboxMessage.state.in_([s.value for s in SENDABLE]),
        OutboxMessage.next_attempt_at <= now,
    )


def due_groups(session: Session, now: datetime) -> list[tuple[Operator, Priority, int]]:
    """Return (operator, priority, count) of messages due now, urgent first."""
    q = (select(OutboxMessage.operator, OutboxMessage.priority, func.count())
         .where(OutboxMessage.id.in_(_due(now)))
         .group_by(OutboxMessage.operator, OutboxMessage.priority)
         .order_by(OutboxMessage.priority))
    return [(Operator(op), Priority(pr), int(n)) for op, pr, n in session.execute(q)]


def claim(session: Session, operator: Operator, priority: Priority, n: int,
          now: datetime) -> list[OutboxMessage]:
    """Mark up to n due messages of one operator SUBMITTED for this caller; return them."""
    token = uuid.uuid4().hex
    ids = (_due(now).where(OutboxMessage.operator == operator.value,
                           OutboxMessage.priority == int(priority))
           .order_by(OutboxMessage.id).limit(n).with_for_update(skip_locked=True))
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(
            state=OutboxState.SUBMITTED.value, claim=token, attempts=OutboxMessage.attempts + 1,
            submitted_at=now, updated_at=now, provider_message_id=None)
        .execution_options(synchronize_session=False))
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.claim == token)
                                .order_by(OutboxMessage.id)))


def move(row: OutboxMessage, event: Event, policy: RetryPolicy, now: datetime,
         reason: str | None = None) -> bool:
    """Apply event to row in place by the pure state machine; return whether it changed."""
    step = transition(OutboxState(row.state), event, attempts=row.attempts,
                      max_attempts=policy.max_attempts)
    if not step.changed:
        return False
    row.state = step.state.value
    row.updated_at = now
    if reason:
        row.failure_reason = reason[:200]
    if step.state is OutboxState.SENT:
        row.sent_at = row.sent_at or now
    if step.retry:
        if event is Event.NOT_HANDED_OVER:
            row.next_attempt_at = policy.not_quiet(now + timedelta(seconds=1))
        elif event is Event.RESENT_UNKNOWN:  # it has waited out the grace already
            row.next_attempt_at = policy.not_quiet(now)
        else:
            row.next_attempt_at = policy.next_attempt(row.attempts, now)
    if step.state in (OutboxState.DELIVERED, OutboxState.DEAD_LETTERED):
        row.finished_at = now
    return True


_EVENT = {Outcome.ACCEPTED: Event.ACCEPTED, Outcome.TRANSIENT: Event.TRANSIENT_FAILURE,
          Outcome.PERMANENT: Event.PERMANENT_FAILURE, Outcome.THROTTLED: Event.NOT_HANDED_OVER}


def record_result(session: Session, row: OutboxMessage, result: SubmitResult,
                  policy: RetryPolicy, now: datetime) -> None:
    """Record the provider's answer to one submit of row (locked by the caller's claim)."""
    event = _EVENT[result.outcome]
    if result.outcome is Outcome.ACCEPTED:
        row.provider_message_id = result.provider_message_id
    elif result.outcome is Outcome.THROTTLED:
        row.attempts = max(0, row.attempts - 1)  # never handed over: not an attempt
    move(row, event, policy, now, result.reason or None)


def release(row: OutboxMessage, policy: RetryPolicy, now: datetime, reason: str) -> None:
    """Give a claimed row back untouched (the provider was unreachable)."""
    row.attempts = max(0, row.attempts - 1)
    move(row, Event.NOT_HANDED_OVER, policy, now, reason)


# Which classes are sent again when in doubt past the DLR grace (decision 5): a missed
# absence alert or HELP reply is worse than a second one; a daily digest or a term
# summary is not resent (a person replays it from the DLQ; /status counts them).
RESENT_WHEN_IN_DOUBT = frozenset({Priority.URGENT})


def in_doubt() -> Select[tuple[int]]:
    """Select claimed messages whose provider answer was never recorded."""
    return select(OutboxMessage.id).where(OutboxMessage.state == OutboxState.SUBMITTED.value,
                                          OutboxMessage.provider_message_id.is_(None))


def recover_in_doubt(session: Session, now: datetime, grace: timedelta,
                     policy: RetryPolicy) -> int:
    """Settle claimed messages with no answer and no DLR after grace, by their class.

    Their sender died (or timed out) between claiming and recording: the provider
    may or may not have them. A DLR naming the number settles one at any time, even
    after this (dlr adopts it). Past the grace, an urgent one is sent again within its
    attempt budget; any other is dead-lettered `outcome_unknown` for a person to
    decide (`hudoor dlq replay`). Returns how many were settled.
    """
    rows = session.scalars(select(OutboxMessage).where(
        OutboxMessage.id.in_(in_doubt()),
        OutboxMessage.submitted_at < now - grace).with_for_update(skip_locked=True)).all()
    for row in rows:
        if Priority(row.priority) in RESENT_WHEN_IN_DOUBT:
            move(row, Event.RESENT_UNKNOWN, policy, now,
                 "outcome_unknown: no answer nor DLR in the grace, sent again")
        else:
            move(row, Event.OUTCOME_UNKNOWN, policy, now, "outcome_unknown: sender lost it")
    return len(rows)


UNKNOWN = "outcome_unknown%"  # failure_reason of messages recovery settled without news


def doubt_summary(session: Session) -> dict[str, int]:
    """Count what /status shows of in-doubt messages: still waiting, given up unsettled."""
    waiting = session.scalar(select(func.count()).select_from(in_doubt().subquery()))
    unsettled = session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.state == OutboxState.DEAD_LETTERED.value,
        OutboxMessage.failure_reason.like(UNKNOWN), OutboxMessage.provider_message_id.is_(None)))
    return {"in_doubt": int(waiting or 0), "dead_lettered_unknown": int(unsettled or 0)}


def withdraw(session: Session, msisdn: str, now: datetime, reason: str) -> int:
    """Withdraw every message still waiting for msisdn (STOP); return how many.

    Only queued or failed rows move (the state machine's WITHDRAWN event, set-based):
    one a sender has claimed is already on its way.
    """
    return session.execute(update(OutboxMessage).where(
        OutboxMessage.msisdn == msisdn,
        OutboxMessage.state.in_([s.value for s in SENDABLE]))
        .values(state=OutboxState.WITHDRAWN.value, failure_reason=reason[:200], finished_at=now,
                updated_at=now)
        .execution_options(synchronize_session=False)).rowcount


def dead_letters(session: Session, limit: int = 100) -> Sequence[OutboxMessage]:
    """Return dead-lettered messages, oldest first."""
    return session.scalars(select(OutboxMessage).where(
        OutboxMessage.state == OutboxState.DEAD_LETTERED.value)
        .order_by(OutboxMessage.id).limit(limit)).all()


def replay(session: Session, ids: Sequence[int], policy: RetryPolicy, now: datetime) -> list[int]:
    """Queue dead letters again with a fresh attempt budget; return the ids replayed."""
    done = []
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                               .with_for_update()):
        if move(row, Event.REPLAYED, policy, now):
            row.attempts, row.next_attempt_at = 0, policy.not_quiet(now)
            row.provider_message_id, row.claim = None, None
            done.append(row.id)
    return sorted(done)
