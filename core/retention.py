"""The retention schedule, enforced: each rule says what is kept how long, and what then happens.

docs/PRIVACY.md is the written schedule; RULES is the same schedule as code, run nightly by
the scheduler and by `hudoor retention run`. Attendance and the audit log are kept (the
school's legal record, and the record of every change): they are listed, not purged.
The clock is passed in, so tests move time instead of waiting.

The SMS tables belong to the digests feature; this module names them as plain tables
(no import of a higher floor).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import column, delete, func, select, table
from sqlalchemy.orm import Session

from core import audit
from core.models import Contact, PrivacyRequest, UTCDateTime
from core.pseudonyms import msisdn_ref


class Action(str, enum.Enum):
    DELETE = "delete"
    TOMBSTONE = "tombstone"  # the row stays; its phone number becomes "#" + keyed hash
    KEEP = "keep"  # listed in the schedule; never purged by Hudoor


_TS = UTCDateTime()
_INBOUND = table("sms_inbound", column("id"), column("received_at", _TS))
_DLR = table("sms_delivery_reports", column("id"), column("received_at", _TS), column("outbox_id"))
_OUTBOX = table("sms_outbox", column("id"), column("state"), column("created_at", _TS))
_FINAL = ("delivered", "dead_lettered", "withdrawn")  # an outbox row nothing will move again


@dataclass(frozen=True)
class Rule:
    """One line of the schedule."""

    name: str
    holds: str  # what the rows hold, for the schedule's reader
    keep: timedelta | None  # None: kept (Action.KEEP)
    action: Action


RULES: tuple[Rule, ...] = (
    Rule("sms_inbound", "inbound SMS ids and the sender's last 3 digits", timedelta(days=7),
         Action.DELETE),
    Rule("sms_delivery_reports", "delivery reports (the handset's keyed hash)", timedelta(days=90),
         Action.DELETE),
    Rule("sms_outbox", "sent parent SMS: number and text (finished rows)", timedelta(days=180),
         Action.DELETE),
    Rule("contacts_revoked", "phone numbers of links ended a year ago", timedelta(days=365),
         Action.TOMBSTONE),
    Rule("privacy_requests", "answered data-subject requests", timedelta(days=3 * 365),
         Action.DELETE),
    Rule("attendance", "attendance records and marks: the school's legal record", None, Action.KEEP),
    Rule("audit_log", "the audit log: the record of every change (payloads minimised)", None,
         Action.KEEP),
    Rule("consent_records", "the consent register: the proof of consent", None, Action.KEEP),
)


@dataclass(frozen=True)
class Outcome:
    rule: str
    action: Action
    rows: int


def _count(session: Session, stmt: object) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt)) or 0)  # type: ignore[arg-type]


def _inbound(session: Session, before: datetime, dry: bool, secret: str) -> int:
    old = select(_INBOUND.c.id).where(_INBOUND.c.received_at < before).subquery()
    if dry:
        return _count(session, old)
    return session.execute(delete(_INBOUND).where(_INBOUND.c.received_at < before)).rowcount or 0


def _reports(session: Session, before: datetime, dry: bool, secret: str) -> int:
    old = select(_DLR.c.id).where(_DLR.c.received_at < before).subquery()
    if dry:
        return _count(session, old)
    return session.execute(delete(_DLR).where(_DLR.c.received_at < before)).rowcount or 0


def _outbox(session: Session, before: datetime, dry: bool, secret: str) -> int:
    done = (_OUTBOX.c.created_at < before) & _OUTBOX.c.state.in_(_FINAL)
    if dry:
        return _count(session, select(_OUTBOX.c.id).where(done).subquery())
    ids = select(_OUTBOX.c.id).where(done)
    session.execute(delete(_DLR).where(_DLR.c.outbox_id.in_(ids)))  # their reports go first
    return session.execute(delete(_OUTBOX).where(done)).rowcount or 0


def _contacts(session: Session, before: datetime, dry: bool, secret: str) -> int:
    rows = session.scalars(select(Contact).where(
        Contact.revoked_at < before, Contact.msisdn.like("+%"))).all()
    if not dry:
        for contact in rows:
            contact.msisdn = "#" + msisdn_ref(secret, contact.msisdn)
    return len(rows)


def _requests(session: Session, before: datetime, dry: bool, secret: str) -> int:
    done = (PrivacyRequest.status != "open") & (PrivacyRequest.answered_at < before)
    if dry:
        return _count(session, select(PrivacyRequest.id).where(done).subquery())
    return session.execute(delete(PrivacyRequest).where(done)).rowcount or 0


_APPLY: dict[str, Callable[[Session, datetime, bool, str], int]] = {
    "sms_inbound": _inbound, "sms_delivery_reports": _reports, "sms_outbox": _outbox,
    "contacts_revoked": _contacts, "privacy_requests": _requests,
}


def run(session: Session, now: datetime, *, secret: str, dry_run: bool = False,
        actor: str = "scheduler") -> Iterator[Outcome]:
    """Apply every rule inside the caller's transaction, yielding each rule's outcome.

    A dry run counts what would go and changes nothing. A real run records one audit
    entry with the counts (never the rows).
    """
    done: dict[str, int] = {}
    for rule in RULES:
        if rule.keep is None:
            yield Outcome(rule.name, rule.action, 0)
            continue
        rows = _APPLY[rule.name](session, now - rule.keep, dry_run, secret)
        done[rule.name] = rows
        yield Outcome(rule.name, rule.action, rows)
    if not dry_run:
        audit.record(session, actor=actor, action="retention.run", entity="retention",
                     entity_id=now.date().isoformat(), reason="the retention schedule",
                     data=done)
