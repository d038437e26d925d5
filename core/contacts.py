"""MSISDNs by consent: a teacher binds their SIM, a guardian links theirs to a student (C6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core import audit, consent
from core.driver_sql import DriverStatement
from core.models import MAX_GUARDIANS, Contact, ContactKind, Person, utcnow
from core.standing import has_access


class InvalidMsisdn(ValueError):
    """Not a valid mobile number."""


class ContactRefused(ValueError):
    """The link cannot be made (too many guardians, person gone)."""


@lru_cache(maxsize=65_536)
def normalise(msisdn: str, region: str = "EG") -> str:
    """Return `msisdn` in E.164 (+20…), raising InvalidMsisdn when it is not a valid number.

    Cached: every USSD hop of a session carries the same number, and parsing it with
    phonenumbers costs more than the rest of the hop's request handling.
    """
    try:
        number = phonenumbers.parse(msisdn, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidMsisdn(msisdn) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidMsisdn(msisdn)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class StaffOnLine:
    """The staff member a SIM belongs to, as a call needs them."""

    id: int
    display_name: str
    school_id: int | None
    role: str


@dataclass(frozen=True)
class CallerRecord:
    staff: StaffOnLine | None
    guardian_of: tuple[int, ...]
    opted_out: bool
    lang: str


# Built once: it runs on a fresh caller's first hop (a statement object keeps its cache key).
# Columns, not entities: loading a Contact and a Person into the session cost more CPU
# than the rest of the lookup, and a hop changes neither.
_BY_MSISDN = DriverStatement(select(Contact.kind, Contact.language, Contact.opted_out_at, Person.id,
                     Person.active, Person.status, Person.canonical_id, Person.display_name,
                     Person.school_id, Person.role)
              .join(Person, Person.id == Contact.person_id)
              .where(Contact.msisdn == bindparam("msisdn"), Contact.revoked_at.is_(None)))


class _ContactRow(NamedTuple):  # a row of _BY_MSISDN
    kind: str
    language: str
    opted_out_at: datetime | None
    id: int
    active: bool
    status: str
    canonical_id: int | None
    display_name: str
    school_id: int | None
    role: str


def lookup(session: Session, msisdn: str) -> CallerRecord:
    """Return who this SIM belongs to: a staff member with access, and/or a guardian."""
    rows = [_ContactRow(*r) for r in _BY_MSISDN.all(session, {"msisdn": msisdn})]
    staff = next((StaffOnLine(r.id, r.display_name, r.school_id, r.role) for r in rows
                  if r.kind == ContactKind.STAFF.value and has_access(r)), None)
    guardian = [r for r in rows if r.kind == ContactKind.GUARDIAN.value and r.active]
    langs = [r.language for r in rows]
    return CallerRecord(staff, tuple(r.id for r in guardian),
                        bool(guardian) and all(r.opted_out_at is not None for r in guardian),
                        langs[0] if langs else "ar")


def bind_staff(session: Session, person: Person, msisdn: str, *, actor: str) -> None:
    """Bind a staff member's SIM; their earlier SIM and anyone else's claim on this SIM end."""
    now = utcnow()
    session.execute(update(Contact).where(
        Contact.kind == ContactKind.STAFF.value, Contact.revoked_at.is_(None),
        (Contact.person_id == person.id) | (Contact.msisdn == msisdn))
        .values(revoked_at=now, revoked_reason="replaced by a new activation"))
    session.add(Contact(person_id=person.id, msisdn=msisdn, kind=ContactKind.STAFF.value))
    audit.record(session, actor=actor, action="contact.bind_staff", entity="person",
                 entity_id=person.id, reason="activated with a one-time code over USSD",
                 data={"msisdn_suffix": msisdn[-3:]})


def link_guardian(session: Session, student: Person, msisdn: str, lang: str, *, actor: str,
                  wording: str = consent.CURRENT,
                  channel: consent.Channel = consent.Channel.USSD,
                  now: datetime | None = None) -> bool:
    """Link a guardian SIM to a student with their consent to `wording` (a version).

    Returns False if it was already linked: then the enrolment re-consents (a new consent
    row, and a link stopped earlier is restarted), nothing else changes.
    """
    existing = session.scalars(select(Contact).where(
        Contact.person_id == student.id, Contact.kind == ContactKind.GUARDIAN.value,
        Contact.revoked_at.is_(None))).all()
    mine = next((c for c in existing if c.msisdn == msisdn), None)
    if mine is not None:
        mine.opted_out_at = None
        consent.grant(session, mine, version=wording, channel=channel, actor=actor, now=now,
                      note="enrolled again")
        audit.record(session, actor=actor, action="consent.grant", entity="contact",
                     entity_id=mine.id, reason="guardian enrolled again with a slip code",
                     data={"wording": wording, "channel": channel.value})
        return False
    if len(existing) >= MAX_GUARDIANS:
        raise ContactRefused(f"{student.upstream_id} already has {MAX_GUARDIANS} guardian numbers")
    contact = Contact(person_id=student.id, msisdn=msisdn, kind=ContactKind.GUARDIAN.value,
                      language=lang, consented_at=now or utcnow())
    session.add(contact)
    session.flush()
    consent.grant(session, contact, version=wording, channel=channel, actor=actor, now=now)
    audit.record(session, actor=actor, action="contact.link_guardian", entity="person",
                 entity_id=student.id, reason="guardian enrolled with a slip code over USSD",
                 data={"msisdn_suffix": msisdn[-3:], "language": lang, "wording": wording,
                       "contact": contact.id})
    return True


def set_opt_out(session: Session, msisdn: str, opted_out: bool, *, actor: str,
                channel: consent.Channel = consent.Channel.USSD, now: datetime | None = None) -> int:
    """Stop (withdraw consent) or restart (consent to the current wording) every digest to this SIM.

    Returns how many links changed. Each change is a new consent row, never an overwrite.
    """
    now = now or utcnow()
    changed = session.execute(update(Contact).where(
        Contact.msisdn == msisdn, Contact.kind == ContactKind.GUARDIAN.value,
        Contact.revoked_at.is_(None),
        Contact.opted_out_at.is_(None) if opted_out else Contact.opted_out_at.is_not(None))
        .values(opted_out_at=now if opted_out else None)).rowcount or 0
    if opted_out:
        consents = consent.withdraw_all(session, msisdn, channel=channel, actor=actor,
                                        reason="stopped over USSD", now=now)
    else:
        consents = consent.regrant_all(session, msisdn, channel=channel, actor=actor, now=now,
                                       version=consent.CURRENT)
    if changed or consents:
        audit.record(session, actor=actor, action="contact.opt_out" if opted_out else "contact.opt_in",
                     entity="msisdn", entity_id=f"…{msisdn[-3:]}", reason="asked over USSD",
                     data={"links": changed, "consents": consents})
    return changed


def set_language(session: Session, msisdn: str, lang: str, *, actor: str) -> int:
    """Set the language of every link of this SIM."""
    changed = session.execute(update(Contact).where(
        Contact.msisdn == msisdn, Contact.revoked_at.is_(None), Contact.language != lang)
        .values(language=lang)).rowcount or 0
    if changed:
        audit.record(session, actor=actor, action="contact.language", entity="msisdn",
                     entity_id=f"…{msisdn[-3:]}", reason="chosen over USSD", data={"language": lang})
    return changed
