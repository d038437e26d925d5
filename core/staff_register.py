"""The central staff register: admin-API holders who are not in the upstream roster (decision 11).

Ops, desk, security and auditor staff work for the ministry centrally; the SIS knows nothing of
them. They are entered here by an audited command, one role each, and leave the same way:
deactivating an entry revokes every token and desk-console session it holds in the same
transaction. A staff member's SIM, given by them with consent, is bound here for the desk
console's sign-in codes (decision 22).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, support_access
from core.contacts import InvalidMsisdn, normalise
from core.models import ApiToken, CentralStaff, ConsoleSession, utcnow
from core.pseudonyms import msisdn_ref, msisdn_tail
from core.rbac import CENTRAL_ROLES, Role


class StaffRefused(ValueError):
    """The register cannot take this change (unknown entry, duplicate, wrong role)."""


@dataclass(frozen=True)
class StaffEntry:
    staff_ref: str
    display_name: str
    role: str
    active: bool
    added_at: datetime


def add(session: Session, staff_ref: str, display_name: str, role: Role, *, actor: str,
        reason: str) -> CentralStaff:
    """Register a central staff member with one central role (audited)."""
    staff_ref, display_name = staff_ref.strip(), display_name.strip()
    if role not in CENTRAL_ROLES:
        raise StaffRefused(f"{role.value} is not a central role; champions are bound to the roster")
    if not staff_ref or not display_name or not reason.strip():
        raise StaffRefused("a staff id, a name and a reason are required")
    if session.scalars(select(CentralStaff.id).where(CentralStaff.staff_ref == staff_ref)).first():
        raise StaffRefused(f"{staff_ref} is already registered")
    row = CentralStaff(staff_ref=staff_ref[:64], display_name=display_name[:200], role=role.value,
                       added_by=actor[:100])
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="central_staff.add", entity="central_staff",
                 entity_id=staff_ref, reason=reason, data={"role": role.value})
    return row


def deactivate(session: Session, staff_ref: str, *, actor: str, reason: str) -> int:
    """Mark an entry as gone and revoke its live tokens; return how many tokens were revoked."""
    row = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == staff_ref)).first()
    if row is None or not row.active:
        raise StaffRefused(f"no active central staff entry {staff_ref}")
    now = utcnow()
    row.active, row.deactivated_at = False, now
    revoked = session.execute(update(ApiToken).where(ApiToken.staff_id == row.id,
                                                     ApiToken.revoked_at.is_(None))
                              .values(revoked_at=now, revoked_reason=reason[:200])).rowcount
    sessions = session.execute(update(ConsoleSession).where(ConsoleSession.staff_id == row.id,
                                                            ConsoleSession.revoked_at.is_(None))
                               .values(revoked_at=now, revoked_reason=reason[:200])).rowcount
    grants = support_access.end_for_agent(session, row.id, now, reason)
    audit.record(session, actor=actor, action="central_staff.deactivate", entity="central_staff",
                 entity_id=staff_ref, reason=reason,
                 data={"tokens_revoked": revoked, "sessions_revoked": sessions,
                       "support_grants_ended": grants})
    return int(revoked)


def bind_phone(session: Session, staff_ref: str, msisdn: str, *, secret: str, actor: str,
               reason: str) -> str:
    """Bind the SIM an active entry's holder gave, with consent, for sign-in codes (audited).

    Stored like a teacher's bound SIM (the number, to send to); the audit row names it by its
    keyed hash and last digits only. A SIM bound to another active entry is refused.
    Returns the number in E.164.
    """
    row = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == staff_ref)).first()
    if row is None or not row.active:
        raise StaffRefused(f"no active central staff entry {staff_ref}")
    if not reason.strip():
        raise StaffRefused("a reason is required (how the holder gave the number and consent)")
    try:
        number = normalise(msisdn)
    except InvalidMsisdn as exc:
        raise StaffRefused("not a valid Egyptian mobile number") from exc
    other = session.scalars(select(CentralStaff.staff_ref).where(
        CentralStaff.msisdn == number, CentralStaff.active.is_(True),
        CentralStaff.id != row.id)).first()
    if other is not None:
        raise StaffRefused(f"this SIM is bound to another entry ({other})")
    row.msisdn, row.msisdn_consented_at = number, utcnow()
    audit.record(session, actor=actor, action="central_staff.bind_phone", entity="central_staff",
                 entity_id=staff_ref, reason=reason,
                 data={"sim_ref": msisdn_ref(secret, number), "msisdn_suffix": msisdn_tail(number)})
    return number


def entries(session: Session) -> list[StaffEntry]:
    """Return every register entry, active or not, by staff id."""
    return [StaffEntry(r.staff_ref, r.display_name, r.role, r.active, r.added_at)
            for r in session.scalars(select(CentralStaff).order_by(CentralStaff.staff_ref))]
