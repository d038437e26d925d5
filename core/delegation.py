"""Substitute delegation: one class, time-boxed, revocable, audited (U4, C5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, calendar
from core.standing import has_access
from core.codes import STAFF_ROLES, person_number
from core.models import Delegation, Enrolment, Person, SchoolClass, utcnow

MAX_DAYS = 9


class DelegationRefused(ValueError):
    """The delegation cannot be given (not your class, substitute unknown or without access)."""


@dataclass(frozen=True)
class GivenDelegation:
    id: int
    class_name: str
    grantee_name: str
    until: date


def find_substitute(session: Session, grantor: Person, number: str) -> Person | None:
    """Return the active staff member of the grantor's school with this keypad number."""
    for person in session.scalars(select(Person).where(
            Person.school_id == grantor.school_id, Person.role.in_(STAFF_ROLES),
            Person.active.is_(True))):
        if person_number(person.upstream_id) == number and has_access(person):
            return person
    return None


def delegate(session: Session, *, class_id: int, grantor_id: int, grantee_id: int, days: int) -> Delegation:
    """Give one of the grantor's own classes to a substitute for `days` days."""
    if not 1 <= days <= MAX_DAYS:
        raise DelegationRefused("days must be 1 to 9")
    owns = session.scalars(select(Enrolment.id).where(
        Enrolment.person_id == grantor_id, Enrolment.class_id == class_id,
        Enrolment.ended_at.is_(None))).first()
    grantor, grantee = session.get(Person, grantor_id), session.get(Person, grantee_id)
    if owns is None or grantor is None or grantee is None:
        raise DelegationRefused("not the grantor's class, or unknown people")
    if grantee.school_id != grantor.school_id or not has_access(grantee) or grantee_id == grantor_id:
        raise DelegationRefused("the substitute must be another active staff member of the school")
    now = utcnow()
    row = Delegation(class_id=class_id, grantor_id=grantor_id, grantee_id=grantee_id,
                     starts_at=now, ends_at=now + timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record(session, actor=f"staff:{grantor_id}", action="delegation.give", entity="delegation",
                 entity_id=row.id, reason="substitute delegation over USSD",
                 data={"class_id": class_id, "grantee_id": grantee_id, "days": days,
                       "ends_at": row.ends_at.isoformat()})
    return row


def revoke(session: Session, delegation_id: int, grantor_id: int) -> bool:
    """Cancel a delegation the grantor gave; False when there was nothing live to cancel."""
    changed = session.execute(update(Delegation).where(
        Delegation.id == delegation_id, Delegation.grantor_id == grantor_id,
        Delegation.revoked_at.is_(None)).values(revoked_at=utcnow(), revoked_reason="cancelled by grantor")
    ).rowcount
    if changed:
        audit.record(session, actor=f"staff:{grantor_id}", action="delegation.revoke",
                     entity="delegation", entity_id=delegation_id, reason="cancelled over USSD")
    return bool(changed)


def given(session: Session, grantor_id: int) -> list[GivenDelegation]:
    """Return the live delegations a staff member gave."""
    now = utcnow()
    rows = session.execute(
        select(Delegation.id, SchoolClass.name, Person.display_name, Delegation.ends_at)
        .join(SchoolClass, SchoolClass.id == Delegation.class_id)
        .join(Person, Person.id == Delegation.grantee_id)
        .where(Delegation.grantor_id == grantor_id, Delegation.revoked_at.is_(None),
               Delegation.ends_at > now).order_by(Delegation.id)).all()
    return [GivenDelegation(i, c, g, calendar.to_cairo(e).date()) for i, c, g, e in rows]
