"""The consent register: every guardian link's consent, given and withdrawn, as rows (PDPL).

Egypt's Personal Data Protection Law (151/2020) treats a child's data as sensitive: it is
processed on the guardian's consent. Consent is recorded per link (contact), with the
exact wording the guardian saw, when, and over which channel. Withdrawing adds a row; no
row is ever changed, so the register answers "did this phone consent on that day, to which
words?" for as long as it is kept. A link's consent is live when its newest row grants it;
nothing is sent to a link without live consent (`live()` in every SMS query).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from core.models import ConsentRecord, Contact, ContactKind, utcnow


class Channel(str, enum.Enum):
    USSD = "ussd"
    SMS = "sms"
    MIGRATION = "migration"  # rows written by migration 0016 for links made before the register


@dataclass(frozen=True)
class Wording:
    """One published consent text, in both languages; never edited, only superseded."""

    version: str
    ar: str
    en: str

    def text(self, lang: str) -> str:
        return self.ar if lang == "ar" else self.en

    @property
    def sha256(self) -> str:
        return hashlib.sha256(f"{self.ar}\n{self.en}".encode()).hexdigest()


# The wording shown on the enrolment screen before a guardian agrees. A new wording is a
# new version added here (tests pin each published version's hash: an edit fails them).
# Arabic must leave room for "1 موافق / 0 لا" within the strict 80-character screen.
WORDINGS: dict[str, Wording] = {
    "2026-11-a": Wording(
        "2026-11-a",
        ar="حضور يحفظ رقمك وحضور طفلك ليرسل لك رسالة يومية. توافق؟",
        en="Hudoor keeps this number and your child's attendance to send you one free SMS a "
           "day. You can stop or erase it any time (menu 4). Agree?",
    ),
}
CURRENT = "2026-11-a"
PRE_REGISTER = "pre-register"  # links made before the register: consent given at enrolment, words unrecorded


def current() -> Wording:
    """Return the wording new enrolments are shown."""
    return WORDINGS[CURRENT]


def live() -> ColumnElement[bool]:
    """Return a SQL condition true for a Contact whose newest consent row grants consent.

    Correlated per contact (index on contact_id, id): the set-based digest query keeps
    one statement however many guardians there are.
    """
    newest = (select(ConsentRecord.granted).where(ConsentRecord.contact_id == Contact.id)
              .order_by(ConsentRecord.id.desc()).limit(1).correlate(Contact).scalar_subquery())
    return newest.is_(true())


def grant(session: Session, contact: Contact, *, version: str, channel: Channel, actor: str,
          now: datetime | None = None, note: str = "") -> ConsentRecord:
    """Record that the holder of `contact` consented to wording `version`."""
    if version not in WORDINGS and version != PRE_REGISTER:
        raise ValueError(f"unknown consent wording {version!r}")
    row = ConsentRecord(contact_id=contact.id, granted=True, wording_version=version,
                        channel=channel.value, at=now or utcnow(), actor=actor[:100],
                        note=note[:200])
    session.add(row)
    return row


def _links(session: Session, msisdn: str, *, granted: bool) -> list[Contact]:
    """Return the open guardian links of `msisdn` whose consent is (not) live."""
    cond = live() if granted else ~live()
    return list(session.scalars(select(Contact).where(
        Contact.msisdn == msisdn, Contact.kind == ContactKind.GUARDIAN.value,
        Contact.revoked_at.is_(None), cond)))


def withdraw_all(session: Session, msisdn: str, *, channel: Channel, actor: str, reason: str,
                 now: datetime | None = None) -> int:
    """Withdraw consent on every live link of `msisdn` (a new row each); return how many."""
    links = _links(session, msisdn, granted=True)
    for contact in links:
        session.add(ConsentRecord(contact_id=contact.id, granted=False, wording_version=None,
                                  channel=channel.value, at=now or utcnow(), actor=actor[:100],
                                  note=reason[:200]))
    return len(links)


def regrant_all(session: Session, msisdn: str, *, channel: Channel, actor: str,
                version: str | None = None, now: datetime | None = None) -> int:
    """Re-consent every withdrawn open link of `msisdn`; return how many.

    Args:
        version: the wording the guardian was shown (USSD restart shows the current one);
            None (an SMS START, which shows no wording) records the version each link
            last consented to: the words they agreed to before.
    """
    links = _links(session, msisdn, granted=False)
    last = _last_versions(session, [c.id for c in links]) if version is None else {}
    for contact in links:
        grant(session, contact, version=version or last.get(contact.id, PRE_REGISTER),
              channel=channel, actor=actor, now=now, note="restarted")
    return len(links)


def _last_versions(session: Session, contact_ids: list[int]) -> dict[int, str]:
    rows = session.execute(select(ConsentRecord.contact_id, ConsentRecord.wording_version).where(
        ConsentRecord.contact_id.in_(contact_ids), ConsentRecord.granted.is_(true()))
        .order_by(ConsentRecord.id)).all()
    return {cid: version for cid, version in rows if version}


@dataclass(frozen=True)
class LinkConsent:
    """A link's consent state for the guardian's own copy of their data."""

    contact_id: int
    live: bool
    version: str | None
    since: datetime | None


def state_of(session: Session, contact_ids: list[int]) -> dict[int, LinkConsent]:
    """Return each link's newest consent row as a LinkConsent (no row: not live)."""
    out = {cid: LinkConsent(cid, False, None, None) for cid in contact_ids}
    if not contact_ids:
        return out
    rows = session.scalars(select(ConsentRecord).where(ConsentRecord.contact_id.in_(contact_ids))
                           .order_by(ConsentRecord.id)).all()
    for row in rows:  # ascending: the newest row of each link wins
        out[row.contact_id] = LinkConsent(row.contact_id, row.granted, row.wording_version, row.at)
    return out
