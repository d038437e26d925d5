"""The SMS half of an operator probe: one message to the operator's probe SIM, through the
real outbox, shaper, sender and provider, judged by its delivery report (U5).

Urgent priority, so a probe does not wait behind a digest batch; the sender holds every
message in quiet hours, so probes are scheduled outside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import calendar
from digests import outbox
from digests.models import MessageKind, OutboxMessage, OutboxState
from digests.outbox import Draft
from shaping.policy import Priority

TEXT = "Hudoor probe {tag}: no reply needed."
ROUND_TRIP_LIMIT = timedelta(minutes=5)  # no delivery report by then: the probe failed


@dataclass(frozen=True)
class Outcome:
    ok: bool | None  # None: still in flight
    latency_ms: int | None
    detail: str


def send(session: Session, msisdn: str, tag: str, now: datetime) -> int:
    """Put one probe SMS in the outbox; return its outbox id."""
    draft = Draft(MessageKind.PROBE.value, calendar.to_cairo(now).date(), msisdn, "en",
                  TEXT.format(tag=tag), priority=Priority.URGENT, tag=tag)
    outbox.enqueue(session, [draft], now)
    row_id = session.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == draft.key))
    assert row_id is not None
    return int(row_id)


def outcome(session: Session, outbox_id: int, now: datetime) -> Outcome:
    """Judge a probe SMS: delivered (with its round trip), failed, or still in flight."""
    row = session.get(OutboxMessage, outbox_id)
    if row is None:
        return Outcome(False, None, "probe message missing from the outbox")
    if row.state == OutboxState.DELIVERED.value:
        done = row.finished_at or row.updated_at
        return Outcome(True, int((done - row.created_at).total_seconds() * 1000), "delivered")
    if row.state in (OutboxState.DEAD_LETTERED.value, OutboxState.WITHDRAWN.value):
        return Outcome(False, None, f"{row.state}: {row.failure_reason or 'no reason given'}")
    if now - row.created_at > ROUND_TRIP_LIMIT:
        return Outcome(False, None, f"no delivery report within {ROUND_TRIP_LIMIT.seconds // 60} min "
                                    f"(state {row.state}, {row.failure_reason or 'no failure reported'})")
    return Outcome(None, None, f"in flight ({row.state})")
