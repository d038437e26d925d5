"""A guardian's rights over their data (PDPL): know what is held, correct it, erase the link.

Every request is a `privacy_requests` row with the law's deadline and an audit entry. An
access request is answered by an SMS copy (digests.privacy_copy sends it); a correction
waits for the school or the desk; an erasure unlinks at once. Erasure never deletes
attendance: that is the school's legal record, about the child, not about the guardian.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from core import audit, calendar, consent
from core.models import (
    AttendanceMark,
    AttendanceRecord,
    Contact,
    ContactKind,
    Enrolment,
    Person,
    PrivacyRequest,
)
from core.pseudonyms import msisdn_ref, msisdn_tail

STATUS_DAYS = 5  # the copy lists this many recent school days' statuses per child
TOMBSTONE = "#"  # an erased link's msisdn: "#" + the keyed hash, no number


class Kind(str, enum.Enum):
    ACCESS = "access"
    CORRECTION = "correction"
    ERASURE = "erasure"


class Status(str, enum.Enum):
    OPEN = "open"  # waiting: a correction for the school, an access copy or erasure mid-way
    ANSWERED = "answered"
    CLOSED = "closed"  # a correction the school or desk closed, with a note


class NothingHeld(ValueError):
    """This phone is linked to no child: there is nothing to show, correct or erase."""


@dataclass(frozen=True)
class ChildData:
    person_id: int
    name: str
    school_id: int
    language: str
    consent_live: bool
    consent_version: str | None
    consent_since: datetime | None
    days: tuple[tuple[date, str], ...]  # recent school days with a recorded status


@dataclass(frozen=True)
class Holdings:
    """What Hudoor holds about one phone and the children linked to it."""

    tail: str
    children: tuple[ChildData, ...]


def due_at(received: datetime, working_days: int) -> datetime:
    """Return the end (Cairo) of the n-th working day after `received`: the answer's deadline."""
    day = calendar.working_days_after(calendar.to_cairo(received).date(), working_days)
    return calendar.at_cairo(day, time(23, 59))


def _links(session: Session, msisdn: str) -> list[tuple[Contact, Person]]:
    rows = session.execute(
        select(Contact, Person).join(Person, Person.id == Contact.person_id)
        .where(Contact.msisdn == msisdn, Contact.kind == ContactKind.GUARDIAN.value,
               Contact.revoked_at.is_(None)).order_by(Contact.id)).all()
    return [(contact, person) for contact, person in rows]


_RANK = {"late": 2, "absent": 1, "present": 0}  # a late arrival supersedes an absence


def _recent_days(session: Session, person_id: int, today: date) -> tuple[tuple[date, str], ...]:
    """Return the child's final status on the last recorded school days (newest first)."""
    rows = session.execute(
        select(AttendanceRecord.day, AttendanceMark.status)
        .join(Enrolment, Enrolment.class_id == AttendanceRecord.class_id)
        .outerjoin(AttendanceMark, and_(AttendanceMark.record_id == AttendanceRecord.id,
                                        AttendanceMark.person_id == person_id))
        .where(Enrolment.person_id == person_id, AttendanceRecord.day >= today - timedelta(days=21),
               AttendanceRecord.day <= today)
        .order_by(AttendanceRecord.day.desc())).all()
    days: dict[date, str] = {}
    for day, status in rows:
        status = status or "present"
        if _RANK[status] >= _RANK[days.get(day, "present")]:
            days[day] = status
    return tuple(list(days.items())[:STATUS_DAYS])


def holdings(session: Session, msisdn: str, today: date) -> Holdings:
    """Return what is held about `msisdn` (E.164) and its linked children."""
    links = _links(session, msisdn)
    states = consent.state_of(session, [c.id for c, _ in links])
    children = tuple(
        ChildData(p.id, p.display_name, p.school_id, c.language, states[c.id].live,
                  states[c.id].version, states[c.id].since, _recent_days(session, p.id, today))
        for c, p in links)
    return Holdings(msisdn_tail(msisdn), children)


def open_request(session: Session, kind: Kind, msisdn: str, *, channel: consent.Channel,
                 secret: str, now: datetime, answer_days: int) -> PrivacyRequest:
    """Record a request from `msisdn` with its deadline and audit it.

    Raises:
        NothingHeld: the phone is linked to no child (nothing to answer about).
    """
    links = _links(session, msisdn)
    if not links:
        raise NothingHeld(msisdn_tail(msisdn))
    request = PrivacyRequest(kind=kind.value, channel=channel.value,
                             subject_ref=msisdn_ref(secret, msisdn), msisdn=msisdn,
                             school_id=links[0][1].school_id, status=Status.OPEN.value,
                             received_at=now, due_at=due_at(now, answer_days), note="")
    session.add(request)
    session.flush()
    audit.record(session, actor=f"{channel.value}:{msisdn_tail(msisdn)}",
                 action=f"privacy.{kind.value}", entity="privacy_request", entity_id=request.id,
                 reason=f"data-subject request over {channel.value}",
                 data={"due": request.due_at.isoformat(), "children": len(links)})
    return request


def erase(session: Session, msisdn: str, *, channel: consent.Channel, secret: str,
          now: datetime, answer_days: int) -> PrivacyRequest:
    """Withdraw consent and unlink `msisdn` from every child; its number leaves the contacts.

    The links stay as revoked rows whose msisdn is a tombstone ("#" + keyed hash), so the
    consent register still points at them; attendance is untouched. The request stays
    open until the outbox rows to the number are rewritten (digests.privacy_copy).

    Raises:
        NothingHeld: the phone is linked to no child.
    """
    request = open_request(session, Kind.ERASURE, msisdn, channel=channel, secret=secret,
                           now=now, answer_days=answer_days)
    actor = f"{channel.value}:{msisdn_tail(msisdn)}"
    withdrawn = consent.withdraw_all(session, msisdn, channel=channel, actor=actor,
                                     reason="erasure requested", now=now)
    tomb = tombstone(secret, msisdn)
    unlinked = session.execute(update(Contact).where(
        Contact.msisdn == msisdn, Contact.kind == ContactKind.GUARDIAN.value)
        .values(msisdn=tomb, revoked_at=now, opted_out_at=now,
                revoked_reason="erased at the holder's request")).rowcount or 0
    audit.record(session, actor=actor, action="contact.erase", entity="privacy_request",
                 entity_id=request.id, reason="guardian asked to erase their link",
                 data={"links": unlinked, "consents_withdrawn": withdrawn})
    return request


def tombstone(secret: str, msisdn: str) -> str:
    """Return what stands for an erased number: never the number, always the same for it."""
    return TOMBSTONE + msisdn_ref(secret, msisdn)


def answer(session: Session, request: PrivacyRequest, *, actor: str, now: datetime,
           note: str = "", status: Status = Status.ANSWERED) -> None:
    """Mark a request answered (or closed) and drop the number it was held for; audit it."""
    request.status = status.value
    request.answered_at, request.answered_by = now, actor[:100]
    request.note = note[:200]
    request.msisdn = None
    audit.record(session, actor=actor, action=f"privacy.{status.value}", entity="privacy_request",
                 entity_id=request.id, reason=note or f"{request.kind} request answered",
                 data={"kind": request.kind, "late": now > request.due_at})


def open_requests(session: Session, kind: Kind | None = None) -> list[PrivacyRequest]:
    """Return the open requests, oldest deadline first."""
    q = select(PrivacyRequest).where(PrivacyRequest.status == Status.OPEN.value)
    if kind is not None:
        q = q.where(PrivacyRequest.kind == kind.value)
    return list(session.scalars(q.order_by(PrivacyRequest.due_at, PrivacyRequest.id)))
