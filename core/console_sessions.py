"""Desk-console sessions: server-side in SQL, short, bound to the person, re-checked every request.

The cookie holds a random token; the row holds its SHA-256, the role, the holder and a CSRF
token. A session ends after IDLE without a request, at ABSOLUTE after sign-in, on sign-out,
and the moment its holder loses access (left upstream, suspended, moved school, SIM binding
revoked, central staff entry deactivated or given another role): `resolve` re-reads the
holder on every request, and core.access / core.staff_register revoke the rows in the same
transaction that removes the access, counted with the revocation lag on /status.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.standing import has_access
from core.console_signin import CHAMPION_PERSON_ROLES, Holder
from core.models import CentralStaff, ConsoleSession, Contact, ContactKind, Person, School
from core.rbac import Principal, Role

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=8)


class SessionInvalid(Exception):
    """No session, or it ended (idle, expired, signed out, revoked, holder lost access)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, holder: Holder, now: datetime) -> tuple[str, ConsoleSession]:
    """Start a session for a holder who just signed in (audited); return the cookie token and row."""
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(token_hash=_hash(token), csrf=secrets.token_urlsafe(32),
                         role=holder.role.value, staff_id=holder.staff_id,
                         person_id=holder.person_id, school_upstream_id=holder.school,
                         created_at=now, last_seen_at=now, expires_at=now + ABSOLUTE)
    session.add(row)
    session.flush()
    audit.record(session, actor=holder.key, action="desk.session.open", entity="console_session",
                 entity_id=row.id, reason="signed in to the desk console",
                 data={"role": row.role, "school": row.school_upstream_id,
                       "expires_at": row.expires_at.isoformat()})
    return token, row


def _holder_lost_access(session: Session, row: ConsoleSession) -> bool:
    if row.staff_id is not None:
        staff = session.get(CentralStaff, row.staff_id)
        return (staff is None or not staff.active or staff.role != row.role or not staff.msisdn)
    person = session.get(Person, row.person_id) if row.person_id is not None else None
    if person is None or not has_access(person) or person.role not in CHAMPION_PERSON_ROLES:
        return True
    school = session.scalar(select(School.upstream_id).where(School.id == person.school_id))
    bound = session.scalar(select(Contact.id).where(
        Contact.person_id == person.id, Contact.kind == ContactKind.STAFF.value,
        Contact.revoked_at.is_(None)).limit(1))
    return school != row.school_upstream_id or bound is None


def resolve(session: Session, token: str, now: datetime) -> tuple[Principal, str]:
    """Return the principal and CSRF token of a live session, and note the request (the caller commits).

    Raises:
        SessionInvalid: unknown, ended, idle too long, or its holder lost access (then revoked).
    """
    if not token or len(token) > 100:
        raise SessionInvalid("no session")
    row = session.scalars(select(ConsoleSession).where(
        ConsoleSession.token_hash == _hash(token))).first()
    if row is None or row.revoked_at is not None:
        raise SessionInvalid("unknown or ended")
    if row.expires_at <= now or row.last_seen_at + IDLE <= now:
        raise SessionInvalid("expired")
    if _holder_lost_access(session, row):
        end(session, row.id, actor="desk-console", reason="the holder lost access", now=now)
        raise SessionInvalid("the holder lost access")
    row.last_seen_at = now
    subject = (session.scalar(select(CentralStaff.staff_ref).where(CentralStaff.id == row.staff_id))
               if row.staff_id is not None else
               session.scalar(select(Person.upstream_id).where(Person.id == row.person_id)))
    return Principal(str(subject), Role(row.role), row.school_upstream_id,
                     session_id=row.id), row.csrf


def end(session: Session, session_id: int, *, actor: str, reason: str, now: datetime) -> bool:
    """End one session (sign-out or revocation, audited); False when it had already ended."""
    changed = session.execute(update(ConsoleSession).where(
        ConsoleSession.id == session_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:200])).rowcount
    if changed:
        audit.record(session, actor=actor, action="desk.session.end", entity="console_session",
                     entity_id=session_id, reason=reason)
    return bool(changed)


def revoke_for_staff(session: Session, staff_id: int, *, reason: str, now: datetime) -> int:
    """End every live session of a central staff entry (the caller audits); return how many."""
    return int(session.execute(update(ConsoleSession).where(
        ConsoleSession.staff_id == staff_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:200])).rowcount or 0)
