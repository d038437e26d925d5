"""Access lifecycle: revoke a person's SIMs, delegations, admin tokens, desk-console
sessions and support grants; deactivate leavers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, or_, select, union, update
from sqlalchemy.orm import Session

from core import audit, support_access
from core.models import (
    ApiToken,
    ConsoleSession,
    Contact,
    ContactKind,
    Delegation,
    Enrolment,
    Person,
    Revocation,
    utcnow,
)


def revoke_many(session: Session, changes: dict[int, tuple[str, datetime]], *, actor: str,
                reason: str) -> int:
    """Remove SIM bindings, every delegation given or held, admin tokens and desk-console
    sessions, for many people.

    Args:
        changes: person id → (new status, when upstream changed it); the lag from that
            moment to now is recorded per person.
    Returns:
        how many people were revoked.
    """
    if not changes:
        return 0
    now, ids = utcnow(), list(changes)
    contacts: dict[int, int] = dict.fromkeys(ids, 0)
    for (pid,) in session.execute(
            update(Contact).where(Contact.person_id.in_(ids), Contact.kind == ContactKind.STAFF.value,
                                  Contact.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason[:200]).returning(Contact.person_id)):
        contacts[pid] += 1
    delegations: dict[int, int] = dict.fromkeys(ids, 0)
    for grantor, grantee in session.execute(
            update(Delegation).where(or_(Delegation.grantor_id.in_(ids), Delegation.grantee_id.in_(ids)),
                                     Delegation.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason[:200])
            .returning(Delegation.grantor_id, Delegation.grantee_id)):
        for pid in {grantor, grantee} & set(ids):
            delegations[pid] += 1
    tokens: dict[int, int] = dict.fromkeys(ids, 0)
    for (pid,) in session.execute(
            update(ApiToken).where(ApiToken.person_id.in_(ids), ApiToken.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason[:200]).returning(ApiToken.person_id)):
        tokens[pid] += 1
    sessions: dict[int, int] = dict.fromkeys(ids, 0)
    for (pid,) in session.execute(
            update(ConsoleSession).where(ConsoleSession.person_id.in_(ids),
                                         ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason[:200]).returning(ConsoleSession.person_id)):
        sessions[pid] += 1

    # Support views granted by, or of, these people end with their access (R6).
    support_access.end_for_people(session, ids, now, reason)
    rows = [{"person_id": pid, "status": status, "changed_at": changed_at, "applied_at": now,
             "lag_seconds": max(0.0, (now - changed_at).total_seconds()),
             "contacts_revoked": contacts[pid], "delegations_revoked": delegations[pid],
             "tokens_revoked": tokens[pid], "sessions_revoked": sessions[pid]}
            for pid, (status, changed_at) in changes.items()]
    session.execute(insert(Revocation), rows)
    audit.record(session, actor=actor, action="access.revoke", entity="people",
                 entity_id=str(ids[0]) if len(ids) == 1 else "batch", reason=reason,
                 data={"revoked": [{"person_id": r["person_id"], "status": r["status"],
                                    "lag_seconds": round(r["lag_seconds"], 3),
                                    "contacts": r["contacts_revoked"],
                                    "delegations": r["delegations_revoked"],
                                    "tokens": r["tokens_revoked"],
                                    "sessions": r["sessions_revoked"]} for r in rows]})
    return len(rows)


def revoke_access(session: Session, person_id: int, status: str, changed_at: datetime, *,
                  actor: str, reason: str) -> None:
    """Remove one person's SIM bindings and delegations; record the lag."""
    revoke_many(session, {person_id: (status, changed_at)}, actor=actor, reason=reason)


def deactivate(session: Session, person_ids: list[int], changed_at: datetime | dict[int, datetime],
               *, actor: str, reason: str) -> tuple[int, int]:
    """Mark people as having left (never deleted); return (deactivated, access revoked)."""
    if not person_ids:
        return 0, 0
    now = utcnow()
    active = session.scalars(
        select(Person.id).where(Person.id.in_(person_ids), Person.active.is_(True))).all()
    if not active:
        return 0, 0
    session.execute(update(Person).where(Person.id.in_(active))
                    .values(active=False, left_at=now, updated_at=now))
    session.execute(update(Enrolment).where(Enrolment.person_id.in_(active),
                                            Enrolment.ended_at.is_(None)).values(ended_at=now))
    with_access = set(session.scalars(union(
        select(Contact.person_id).where(Contact.person_id.in_(active),
                                        Contact.kind == ContactKind.STAFF.value,
                                        Contact.revoked_at.is_(None)),
        select(Delegation.grantor_id).where(Delegation.grantor_id.in_(active),
                                            Delegation.revoked_at.is_(None)),
        select(Delegation.grantee_id).where(Delegation.grantee_id.in_(active),
                                            Delegation.revoked_at.is_(None)),
        select(ApiToken.person_id).where(ApiToken.person_id.in_(active),
                                         ApiToken.revoked_at.is_(None)),
        select(ConsoleSession.person_id).where(ConsoleSession.person_id.in_(active),
                                               ConsoleSession.revoked_at.is_(None)))).all())
    when = changed_at if isinstance(changed_at, dict) else dict.fromkeys(active, changed_at)
    revoked = revoke_many(session, {pid: ("left", when[pid]) for pid in with_access}, actor=actor,
                          reason=reason)
    audit.record(session, actor=actor, action="person.deactivate", entity="people",
                 entity_id="batch", reason=reason, data={"person_ids": list(active)})
    return len(active), revoked
