"""The write-back outbox in SQL: sweep class-days in, send with backoff, dead-letter poison (C2).

Every confirmed class-day revision (a confirm, a late arrival, an approved adjustment)
becomes one row, swept in by `collect` off the capture path; `send_item` writes it to
upstream in its own transaction. A worker killed between the write and the commit
leaves the row pending: the next attempt re-sends the same key, which upstream
absorbs (decision 0018). Redis only schedules the work; these rows are the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, Callable

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from core import audit
from core.models import AttendanceRecord, WritebackItem, WritebackState
from core.upstream.client import UpstreamError, UpstreamUnavailable
from core.writeback import snapshot
from core.writeback.client import AttendanceClient

MAX_BACKOFF = timedelta(hours=1)
PENDING, ACKED = WritebackState.PENDING.value, WritebackState.ACKED.value
SUPERSEDED, DEAD = WritebackState.SUPERSEDED.value, WritebackState.DEAD.value


class Outcome(str, Enum):
    SENT = "sent"
    SUPERSEDED = "superseded"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"  # taken by another worker, or no longer pending


@dataclass(frozen=True)
class Policy:
    """How hard to try: attempts before the DLQ and the first retry delay (doubling)."""

    max_attempts: int = 8
    retry_base_seconds: int = 30

    def next_attempt(self, now: datetime, attempts: int) -> datetime:
        """Return when to try again after `attempts` failures."""
        delay = timedelta(seconds=self.retry_base_seconds * 2 ** max(0, attempts - 1))
        return now + min(delay, MAX_BACKOFF)


def collect(session: Session, now: datetime, since: date) -> int:
    """Add an outbox row for every class-day revision since `since` that has none; return how many."""
    rec = AttendanceRecord
    missing = (select(rec.class_id, rec.day, rec.revision)
               .where(rec.day >= since, ~exists().where(and_(
                   WritebackItem.class_id == rec.class_id, WritebackItem.day == rec.day,
                   WritebackItem.revision == rec.revision))))
    rows = [{"class_id": c, "day": d, "revision": r, "state": PENDING, "attempts": 0,
             "created_at": now, "next_attempt_at": now} for c, d, r in session.execute(missing)]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    # Two sweepers may race for the same revision: the unique index keeps one row.
    session.execute(ins(WritebackItem).on_conflict_do_nothing(), rows)
    return len(rows)


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Return ids of pending rows due now, oldest first."""
    return list(session.scalars(
        select(WritebackItem.id).where(WritebackItem.state == PENDING,
                                       WritebackItem.next_attempt_at <= now)
        .order_by(WritebackItem.next_attempt_at, WritebackItem.id).limit(limit)))


def _lock(session: Session, item_id: int) -> WritebackItem | None:
    q = select(WritebackItem).where(WritebackItem.id == item_id, WritebackItem.state == PENDING)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return session.scalars(q).first()


def send_item(sessions: sessionmaker[Session], client: AttendanceClient, item_id: int,
              now: datetime, policy: Policy) -> Outcome:
    """Send one outbox row to upstream and record what happened, in one transaction."""
    with sessions() as session, session.begin():
        item = _lock(session, item_id)
        if item is None:
            return Outcome.SKIPPED
        found = snapshot.class_day(session, item.class_id, item.day)
        if found is None or found[1].revision != item.revision:
            # A newer revision has its own row; this one would only be refused as stale.
            item.state, item.done_at = SUPERSEDED, now
            return Outcome.SUPERSEDED
        school, cd = found
        item.attempts += 1
        try:
            client.put(school, item.day, cd)
        except UpstreamUnavailable as exc:
            return _failed(session, item, now, policy, str(exc), permanent=False)
        except UpstreamError as exc:
            return _failed(session, item, now, policy, str(exc), permanent=True)
        item.state, item.done_at, item.last_error = ACKED, now, None
        return Outcome.SENT


def _failed(session: Session, item: WritebackItem, now: datetime, policy: Policy, error: str,
            *, permanent: bool) -> Outcome:
    item.last_error = error[:300]
    if permanent or item.attempts >= policy.max_attempts:
        item.state, item.done_at = DEAD, now
        audit.record(session, actor="writeback", action="writeback.dead_letter",
                     entity="class_day", entity_id=f"{item.class_id}:{item.day}:{item.revision}",
                     reason="refused by upstream" if permanent else "out of attempts",
                     data={"item": item.id, "attempts": item.attempts, "error": item.last_error})
        return Outcome.DEAD
    item.next_attempt_at = policy.next_attempt(now, item.attempts)
    return Outcome.RETRY


def drain(sessions: sessionmaker[Session], client: AttendanceClient, clock: Callable[[], datetime],
          policy: Policy, *, since: date, batch: int = 200,
          until_idle: bool = False) -> dict[str, int]:
    """Sweep new class-days in and send what is due: one batch, or until nothing is due."""
    counts = {o.value: 0 for o in Outcome}
    while True:
        with sessions() as session, session.begin():
            counts.setdefault("collected", 0)
            counts["collected"] += collect(session, clock(), since)
        with sessions() as session:
            ids = due_ids(session, clock(), batch)
        for item_id in ids:
            counts[send_item(sessions, client, item_id, clock(), policy).value] += 1
        if not until_idle or not ids:
            return counts


def lag(session: Session, now: datetime) -> dict[str, Any]:
    """Return consumer lag: the age of the oldest unacknowledged write, and the counts."""
    oldest = session.scalar(select(func.min(WritebackItem.created_at))
                            .where(WritebackItem.state == PENDING))
    counts = dict(session.execute(select(WritebackItem.state, func.count())
                                  .group_by(WritebackItem.state)).all())
    age = round((now - oldest).total_seconds(), 1) if oldest is not None else 0.0
    return {"oldest_unacked_seconds": max(age, 0.0), "pending": counts.get(PENDING, 0),
            "dead": counts.get(DEAD, 0), "acked": counts.get(ACKED, 0)}


def dead_letters(session: Session, limit: int = 200) -> list[WritebackItem]:
    """Return the dead-letter list, oldest first."""
    return list(session.scalars(select(WritebackItem).where(WritebackItem.state == DEAD)
                                .order_by(WritebackItem.id).limit(limit)))


class NotDead(LookupError):
    """A replay named an outbox row that is not in the dead-letter list."""


def replay(session: Session, ids: list[int], *, by: str, reason: str, now: datetime) -> int:
    """Put dead-lettered rows back in the outbox for a fresh set of attempts (audited)."""
    rows = session.scalars(select(WritebackItem).where(WritebackItem.id.in_(ids))).all()
    not_dead = sorted(set(ids) - {r.id for r in rows if r.state == DEAD})
    if not_dead:
        raise NotDead(f"not in the dead-letter list: {', '.join(map(str, not_dead))}")
    for row in rows:
        row.state, row.attempts, row.next_attempt_at, row.done_at = PENDING, 0, now, None
        audit.record(session, actor=by, action="writeback.replay", entity="class_day",
                     entity_id=f"{row.class_id}:{row.day}:{row.revision}", reason=reason,
                     data={"item": row.id, "last_error": row.last_error})
    return len(rows)


def settle(session: Session, day: date, held: dict[int, int], now: datetime) -> int:
    """Acknowledge unsent rows of class-days upstream was found to hold (class id → revision).

    One read of the day's open rows for those classes, then updates only where needed:
    reconciliation calls this for every agreeing school-day, and most have none.
    """
    if not held:
        return 0
    open_rows = session.execute(
        select(WritebackItem.id, WritebackItem.class_id, WritebackItem.revision)
        .where(WritebackItem.day == day, WritebackItem.class_id.in_(list(held)),
               WritebackItem.state.in_((PENDING, DEAD)))).all()
    ids = [i for i, cid, rev in open_rows if rev <= held[cid]]
    if ids:
        session.execute(update(WritebackItem).where(WritebackItem.id.in_(ids)).values(
            state=ACKED, done_at=now, last_error="settled by reconciliation"))
    return len(ids)
