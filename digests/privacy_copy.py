"""Answer guardians' data requests by SMS, finish erasures in the outbox, and gate on consent.

`process` runs every minute (and right away for an SMS request): it sends each open
access request its copy (children linked, consent state, last days' statuses) in at most
N segments, rewrites an erased number out of the outbox, and withdraws any waiting
parent message whose number no longer has a link with live consent (STOP over USSD,
erasure): an opt-out is a gate, not a flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from core import calendar, consent, privacy
from core.config import Config
from core.gsm import segment_count, split_segments
from core.i18n import Texts, _, digits
from core.models import Contact, ContactKind, PrivacyRequest
from digests.models import MessageKind, OutboxMessage, OutboxState
from digests.outbox import Draft, enqueue
from digests.states import SENDABLE
from digests.templates import STATUS
from digests.compose_types import ChildStatus
from shaping.policy import Priority

HEAD = _("Hudoor holds for {tail}:")
CHILD = _("{name}: SMS {state}, consent {version} {since}.")
DAYS = _("{days}.")
FOOT = _("Attendance is the school's record. Menu 4: correct/erase.")
NOTHING = _("Hudoor holds nothing about this phone.")
ON, OFF = _("on"), _("off")
# Replies the parent asked for need no consent; every other parent message does.
ASKED_FOR = (MessageKind.HELP_REPLY.value, MessageKind.DATA_COPY.value)


def compose_copy(held: privacy.Holdings, lang: str, max_segments: int) -> str:
    """Return the copy of `held` in `lang`, dropping the oldest days until it fits."""
    t = Texts(lang, eastern_digits=True)
    if not held.children:
        return t(NOTHING)
    keep = max((len(c.days) for c in held.children), default=0)
    while True:
        parts = [t(HEAD, tail=held.tail)]
        for child in held.children:
            since = (digits(child.consent_since.date().isoformat(), lang)
                     if child.consent_since else "-")
            parts.append(t(CHILD, name=child.name, state=t(ON if child.consent_live else OFF),
                           version=child.consent_version or "-", since=since))
            days = ", ".join(f"{digits(f'{d.day}/{d.month}', lang)} {t(STATUS[ChildStatus(s)])}"
                             for d, s in child.days[:keep])
            if days:
                parts.append(t(DAYS, days=days))
        parts.append(t(FOOT))
        text = " ".join(parts)
        if segment_count(text).segments <= max_segments:
            return text
        if keep == 0:  # many children: what fits, cut at a segment boundary
            return "".join(split_segments(text)[:max_segments])
        keep -= 1


@dataclass(frozen=True)
class Processed:
    copies: int = 0
    erased: int = 0
    withdrawn: int = 0


def _send_copy(session: Session, request: PrivacyRequest, config: Config, now: datetime) -> int:
    assert request.msisdn is not None
    held = privacy.holdings(session, request.msisdn, calendar.to_cairo(now).date())
    lang = held.children[0].language if held.children else "ar"
    text = compose_copy(held, lang, config.privacy_copy_segments)
    added = enqueue(session, [Draft(MessageKind.DATA_COPY.value, calendar.to_cairo(now).date(),
                                    request.msisdn, lang, text, Priority.URGENT)], now)
    privacy.answer(session, request, actor="scheduler", now=now,
                   note="copy sent by SMS" if added else "copy already sent today")
    return 1


def _finish_erasure(session: Session, request: PrivacyRequest, config: Config,
                    now: datetime) -> int:
    """Rewrite the erased number out of the outbox (waiting rows withdrawn first)."""
    assert request.msisdn is not None
    msisdn, tomb = request.msisdn, privacy.tombstone(config.secret_key, request.msisdn)
    session.execute(update(OutboxMessage).where(
        OutboxMessage.msisdn == msisdn, OutboxMessage.state.in_([s.value for s in SENDABLE]))
        .values(state=OutboxState.WITHDRAWN.value, failure_reason="erased at the holder's request",
                finished_at=now, updated_at=now).execution_options(synchronize_session=False))
    # A message claimed by a sender this very moment keeps its number until it finishes;
    # the next run rewrites it.
    settled = OutboxMessage.state.not_in([OutboxState.SUBMITTED.value])
    session.execute(update(OutboxMessage).where(OutboxMessage.msisdn == msisdn, settled)
                    .values(msisdn=tomb, idempotency_key=func.replace(
                        OutboxMessage.idempotency_key, msisdn, tomb))
                    .execution_options(synchronize_session=False))
    if session.scalar(select(func.count()).select_from(OutboxMessage)
                      .where(OutboxMessage.msisdn == msisdn)):
        return 0
    privacy.answer(session, request, actor="scheduler", now=now, note="link erased")
    return 1


def withdraw_unconsented(session: Session, now: datetime) -> int:
    """Withdraw waiting parent messages to numbers with no open link of live consent."""
    consented = exists().where(and_(
        Contact.msisdn == OutboxMessage.msisdn, Contact.kind == ContactKind.GUARDIAN.value,
        Contact.revoked_at.is_(None), consent.live()))
    return session.execute(update(OutboxMessage).where(
        OutboxMessage.kind.not_in(ASKED_FOR),
        OutboxMessage.state.in_([s.value for s in SENDABLE]), ~consented)
        .values(state=OutboxState.WITHDRAWN.value, failure_reason="no live consent",
                finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount or 0


def process(session: Session, config: Config, now: datetime) -> Processed:
    """Answer open access requests, finish erasures, withdraw unconsented messages."""
    copies = erased = 0
    for request in privacy.open_requests(session):
        if request.msisdn is None:
            continue
        if request.kind == privacy.Kind.ACCESS.value:
            copies += _send_copy(session, request, config, now)
        elif request.kind == privacy.Kind.ERASURE.value:
            erased += _finish_erasure(session, request, config, now)
    return Processed(copies, erased, withdraw_unconsented(session, now))
