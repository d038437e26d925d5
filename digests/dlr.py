"""Apply a delivery report: drop duplicates, find the message, move it monotonically, record."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from digests.models import FAILURE_REASON_CHARS, DeliveryReport, OutboxMessage, OutboxState
from digests.outbox import UNKNOWN, RetryPolicy, move
from digests.providers.codes import UnknownDlrStatus, dlr_event
from core.pseudonyms import msisdn_ref, msisdn_tail
from shaping.operators import InvalidMsisdn, Operator, operator_for_network_code, to_e164


class Applied(str, enum.Enum):
    """What one delivery report did."""

    MOVED = "moved"  # the message changed state
    NO_CHANGE = "no_change"  # it told us nothing new (a late Sent after Delivered, ...)
    ADOPTED = "adopted"  # it named a message whose sender died before recording the id
    STALE = "stale"  # it is about an earlier attempt of a message sent again since
    UNMATCHED = "unmatched"  # no message yet; applied when the submit answer is recorded
    DUPLICATE = "duplicate"  # seen before: dropped


@dataclass(frozen=True)
class Report:
    """A delivery report in AT's fields."""

    provider_message_id: str
    status: str
    phone_number: str
    network_code: str | None = None
    failure_reason: str | None = None
    retry_count: int = 0

    @property
    def dedup_key(self) -> str:
        return "|".join((self.provider_message_id, self.status, self.failure_reason or "",
                         str(self.retry_count)))[:200]


MAX_RETRY_COUNT = 1_000_000  # AT retries a handful of times; anything bigger is not a count
_NETWORK_CODE = re.compile(r"[0-9]{5,6}")  # MCC + MNC, e.g. 60202


class InvalidReport(ValueError):
    """A delivery report that cannot be read: a required field missing, unknown or absurd."""


def _clean(value: str | None) -> str:
    """Return a field without NUL characters (no database stores them) and outer spaces."""
    return (value or "").replace("\x00", "").strip()


def read_report(form: Mapping[str, str]) -> Report:
    """Read AT's form fields into a Report, refusing only what cannot be applied.

    Required fields (id, status, phoneNumber) must be there and the status known; a
    retryCount that is not a count in 0..MAX_RETRY_COUNT is refused too (it is part of
    the duplicate key). Optional details never cost the status: an over-long
    failureReason is cut to the stored 64 characters (no reason AT classifies is that
    long), a networkCode that is not MCC+MNC is dropped. docs/decisions/0005.

    Raises:
        InvalidReport: with a message fit for the 400 answer.
    """
    fields = {name: _clean(form.get(name)) for name in
              ("id", "status", "phoneNumber", "networkCode", "failureReason", "retryCount")}
    missing = [name for name in ("id", "status", "phoneNumber") if not fields[name]]
    if missing:
        raise InvalidReport("missing " + ", ".join(missing))
    reason = fields["failureReason"][:FAILURE_REASON_CHARS] or None
    try:
        dlr_event(fields["status"], reason)
    except UnknownDlrStatus as exc:
        raise InvalidReport(f"bad field: status {exc}") from exc
    retry = fields["retryCount"] or "0"
    if not (retry.isascii() and retry.isdigit()) or int(retry) > MAX_RETRY_COUNT:
        raise InvalidReport(f"bad field: retryCount must be a count 0..{MAX_RETRY_COUNT}")
    network = fields["networkCode"] if _NETWORK_CODE.fullmatch(fields["networkCode"]) else None
    return Report(fields["id"][:100], fields["status"], fields["phoneNumber"][:20], network,
                  reason, int(retry))


def phone_ref(secret: str, phone_number: str) -> str:
    """Return what a stored report keeps of its phone number: the keyed hash, or the tail.

    The number normalised first, so the hash names the same SIM as everywhere else.
    """
    try:
        number = to_e164(phone_number)
    except InvalidMsisdn:
        number = phone_number
    return msisdn_ref(secret, number) if secret else msisdn_tail(number)


def _store(session: Session, report: Report, now: datetime, secret: str) -> int | None:
    # Imported here: a sender on SQLite need not load PostgreSQL's dialect to start.
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(DeliveryReport).values(
        dedup_key=report.dedup_key, provider_message_id=report.provider_message_id,
        status=report.status[:32], phone_ref=phone_ref(secret, report.phone_number),
        network_code=(report.network_code or None), failure_reason=report.failure_reason,
        retry_count=report.retry_count, applied=Applied.UNMATCHED.value, received_at=now)
        .on_conflict_do_nothing(index_elements=["dedup_key"]).returning(DeliveryReport.id))
    return session.execute(stmt).scalar()


def lock_ids(session: Session, provider_ids: list[str]) -> None:
    """Serialise, per provider message id, a DLR with the sender recording that id.

    Without it, on PostgreSQL a DLR and the sender's transaction can each miss the
    other (the DLR sees no id yet; the sender's pending-DLR query sees no report yet),
    leaving the message SENT forever. Both take this lock first, before any row lock,
    so whichever commits second sees the other. SQLite has one writer: nothing to do.
    """
    if not provider_ids or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(pid)) "
                         "FROM unnest(CAST(:ids AS text[])) AS pid ORDER BY pid"),
                    {"ids": sorted(set(provider_ids))})


def _by_id(session: Session, report: Report) -> OutboxMessage | None:
    return session.scalars(select(OutboxMessage).where(
        OutboxMessage.provider_message_id == report.provider_message_id).with_for_update()).first()


def _find(session: Session, report: Report) -> tuple[OutboxMessage | None, Applied]:
    row = _by_id(session, report)
    if row is not None:
        return row, Applied.MOVED
    known = session.scalar(select(DeliveryReport.id).where(
        DeliveryReport.provider_message_id == report.provider_message_id,
        DeliveryReport.outbox_id.is_not(None)).limit(1))
    if known is not None:
        return None, Applied.STALE
    # A sender killed after the provider accepted but before it recorded the id
    # leaves the message SUBMITTED with no id: the DLR's number names it.
    # So does one recovery already dead-lettered as outcome_unknown: the report settles it.
    orphan = session.scalars(select(OutboxMessage).where(
        OutboxMessage.msisdn == report.phone_number,
        (OutboxMessage.state == OutboxState.SUBMITTED.value)
        | ((OutboxMessage.state == OutboxState.DEAD_LETTERED.value)
           & OutboxMessage.failure_reason.like(UNKNOWN)),
        OutboxMessage.provider_message_id.is_(None)).order_by(OutboxMessage.id).limit(1)
        .with_for_update()).first()
    if orphan is not None:
        orphan.provider_message_id = report.provider_message_id
        return orphan, Applied.ADOPTED
    # On PostgreSQL the orphan query may have waited for a sender recording this
    # very id; that commit is visible to a new statement, so look once more.
    # (Without this the report could stay unmatched forever: the sender's
    # apply_pending ran before this report was committed.)
    row = _by_id(session, report)
    if row is not None:
        return row, Applied.MOVED
    return None, Applied.UNMATCHED


def apply_report(session: Session, report: Report, policy: RetryPolicy, now: datetime,
                 secret: str = "") -> Applied:
    """Apply one delivery report inside the caller's transaction; return what it did.

    Args:
        secret: the key the stored report's phone reference is hashed with (without
            one, only the number's last three digits are stored).
    """
    lock_ids(session, [report.provider_message_id])
    report_id = _store(session, report, now, secret)
    if report_id is None:
        return Applied.DUPLICATE
    row, found = _find(session, report)
    stored = session.get(DeliveryReport, report_id)
    assert stored is not None
    if row is None:
        stored.applied = found.value
        return found
    stored.outbox_id = row.id
    outcome = _apply_to(row, report, policy, now)
    applied = found if found is Applied.ADOPTED else outcome
    stored.applied = applied.value
    return applied


def _apply_to(row: OutboxMessage, report: Report, policy: RetryPolicy, now: datetime) -> Applied:
    operator = operator_for_network_code(report.network_code or "")
    if operator is not Operator.UNKNOWN and operator.value != row.operator:
        row.operator = operator.value  # the network code beats the number's prefix (ported)
    reason = f"{report.status}: {report.failure_reason}" if report.failure_reason else None
    changed = move(row, dlr_event(report.status, report.failure_reason), policy, now, reason)
    return Applied.MOVED if changed else Applied.NO_CHANGE


# Which of a round's ids a report waits for: the ids as one parameter (a JSON array on
# SQLite, an array on PostgreSQL), not one bound parameter each to expand per round.
_UNMATCHED = ("SELECT DISTINCT provider_message_id FROM sms_delivery_reports "
              f"WHERE applied = '{Applied.UNMATCHED.value}' AND provider_message_id ")
_UNMATCHED_SQLITE = text(_UNMATCHED + "IN (SELECT value FROM json_each(:ids))")
_UNMATCHED_PG = text(_UNMATCHED + "= ANY(CAST(:ids AS text[]))")


def unmatched(session: Session, provider_ids: list[str]) -> set[str]:
    """Return which of these provider message ids have a report waiting (``UNMATCHED``):
    the rows ``apply_pending`` must see, in one query (no ORM instance a report)."""
    if not provider_ids:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return set(session.execute(_UNMATCHED_PG, {"ids": provider_ids}).scalars())
    return set(session.execute(_UNMATCHED_SQLITE, {"ids": json.dumps(provider_ids)}).scalars())


def apply_pending(session: Session, rows: list[OutboxMessage], policy: RetryPolicy,
                  now: datetime) -> int:
    """Apply reports that arrived before these rows' submit answers were recorded.

    One query for the whole batch; returns how many reports were applied.
    """
    by_id = {row.provider_message_id: row for row in rows if row.provider_message_id}
    if not by_id:
        return 0
    pending = session.scalars(select(DeliveryReport).where(
        DeliveryReport.provider_message_id.in_(list(by_id)),
        DeliveryReport.applied == Applied.UNMATCHED.value).order_by(DeliveryReport.id)).all()
    for stored in pending:
        row = by_id[stored.provider_message_id]
        stored.outbox_id = row.id
        report = Report(stored.provider_message_id, stored.status, stored.phone_ref,
                        stored.network_code, stored.failure_reason, stored.retry_count)
        stored.applied = _apply_to(row, report, policy, now).value
    return len(pending)
