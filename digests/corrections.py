"""Correction SMS: a parent told "absent" hears, once, that an approved adjustment says otherwise (U2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, calendar, consent
from core.config import Config
from core.i18n import Texts, _, language
from core.models import AdjustmentState, AttendanceAdjustment, Contact, ContactKind, Person
from digests import outbox
from digests.compose_types import ChildStatus
from digests.models import MessageKind, OutboxMessage, OutboxState
from digests.templates import given_name, render
from shaping.policy import Priority

CORRECTION = _("Correction: {text}")
TOLD = (MessageKind.DAILY_DIGEST, MessageKind.ABSENCE_ALERT)  # what can have said "absent"
LOOKBACK = timedelta(days=14)


def correction_text(lang: str, day, name: str, status: ChildStatus) -> str:  # type: ignore[no-untyped-def]
    """Return "Correction: Hudoor 30/11: Ahmed present" in the guardian's language."""
    lang = language(lang)
    return Texts(lang, eastern_digits=True)(CORRECTION).format(
        text=render(lang, day, [(given_name(name), status)]))


def enqueue_corrections(session: Session, config: Config, now: datetime) -> int:
    """Enqueue a correction for each approved absent→present/late whose digest said absent.

    Idempotent by the key `correction-<adjustment>:<day>:<msisdn>`: a rerun sends nothing
    twice. Held until the quiet hours end.
    """
    rows = session.execute(
        select(AttendanceAdjustment, Person.display_name)
        .join(Person, Person.id == AttendanceAdjustment.person_id)
        .where(AttendanceAdjustment.state == AdjustmentState.APPROVED.value,
               AttendanceAdjustment.from_status == "absent",
               AttendanceAdjustment.to_status.in_(("present", "late")),
               AttendanceAdjustment.decided_at >= now - LOOKBACK)).all()
    drafts = []
    not_before = calendar.quiet_hours_end(now, config.quiet_start_hour, config.quiet_end_hour)
    for adj, name in rows:
        guardians = session.execute(select(Contact.msisdn, Contact.language).where(
            Contact.person_id == adj.person_id, Contact.kind == ContactKind.GUARDIAN.value,
            Contact.opted_out_at.is_(None), Contact.revoked_at.is_(None), consent.live())).all()
        for msisdn, lang in guardians:
            # Told "absent" by the day's digest, or by an absence alert when the class was
            # confirmed after the cut-off; a message withdrawn by STOP told nobody.
            told = session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.idempotency_key.in_(
                    [f"{kind.value}:{adj.day.isoformat()}:{msisdn}" for kind in TOLD]),
                OutboxMessage.state != OutboxState.WITHDRAWN.value).limit(1))
            if told is None:
                continue  # nothing was sent for that day: nobody was told "absent"
            status = ChildStatus.PRESENT if adj.to_status == "present" else ChildStatus.LATE
            drafts.append(outbox.Draft(f"correction-{adj.id}", adj.day, msisdn, lang,
                                       correction_text(lang, adj.day, name, status),
                                       Priority.DIGEST, not_before))
    added = outbox.enqueue(session, drafts, now) if drafts else 0
    if added:
        audit.record(session, actor="digests", action="digests.corrections", entity="sms_outbox",
                     entity_id=f"corrections:{now.date().isoformat()}",
                     reason="approved adjustments of days a parent was told absent",
                     data={"enqueued": added})
    return added
