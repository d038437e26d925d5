"""Access lifecycle: revoke a person's access and delegations; deactivate leavers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, union, update
from sqlalchemy.orm import Session

from core import audit
from core.models import (
    Contact,
    ContactKind,
    Delegation,
    Enrolment,
    IdentityStatus,
    Person,
    Revocation,
    utcnow,
)


def has_access(person: Person) -> bool:
    """Tell whether a person may use staff flows at all (active and in good standing)."""
    return person.active and person.status == IdentityStatus.ACTIVE.value and person.canonical_id is None


def revoke_access(session: Session, person_id: int, status: str, changed_at: datetime, *,
                  actor: str, reason: str) -> Revocation:
    """Remove a person's SIM bindings and every delegation they gave or hold; record the lag."""
    now = utcnow()
    contacts = session.execute(
        update(Contact)
        .where(Contact.person_id == person_id, Contact.kind == ContactKind.STAFF.value,
               Contact.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=f"upstream status {status}")
    ).rowcount
    delegations = session.execute(
        update(Delegation)
        .where(or_(Delegation.grantor_id == person_id, Delegation.grantee_id == person_id),
               Delegation.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=f"upstream status {status}")
    ).rowcount
    lag = max(0.0, (now - changed_at).total_seconds())
    rev = Revocation(person_id=person_id, status=status, changed_at=changed_at, applied_at=now,
                     lag_seconds=lag, contacts_revoked=contacts or 0,
                     delegations_revoked=delegations or 0)
    session.add(rev)
    audit.record(session, actor=actor, action="access.revoke", entity="person", entity_id=person_id,
                 reason=reason, data={"status": status, "changed_at": changed_at.isoformat(),
                                      "lag_seconds": round(lag, 3), "contacts": contacts,
                                      "delegations": delegations})
    return rev


def deactivate(session: Session, person_ids: list[int], changed_at: datetime, *, actor: str,
               reason: str) -> int:
    """Mark people as having left (never deleted): close enrolments, revoke their access."""
    if not person_ids:
        return 0
    now = utcnow()
    active = session.scalars(
        select(Person.id).where(Person.id.in_(person_ids), Person.active.is_(True))).all()
    if not active:
        return 0
    session.execute(update(Person).where(Person.id.in_(active))
                    .values(active=False, left_at=now, updated_at=now))
    session.execute(update(Enrolment).where(Enrolment.person_id.in_(active),
                                            Enrolment.ended_at.is_(None)).values(ended_at=now))
    staff_with_access = session.scalars(union(
        select(Contact.person_id).where(Contact.person_id.in_(active),
                                        Contact.kind == ContactKind.STAFF.value,
                                        Contact.revoked_at.is_(None)),
        select(Delegation.grantor_id).where(Delegation.grantor_id.in_(active),
                                            Delegation.revoked_at.is_(None)),
        select(Delegation.grantee_id).where(Delegation.grantee_id.in_(active),
                                            Delegation.revoked_at.is_(None)))).all()
    for pid in set(staff_with_access):
        revoke_access(session, pid, "left", changed_at, actor=actor, reason=reason)
    audit.record(session, actor=actor, action="person.deactivate", entity="people",
                 entity_id="batch", reason=reason, data={"person_ids": list(active)})
    return len(active)


