"""Role-based access for the admin API: signed, expiring tokens; deny by default."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from core import audit


class Role(str, enum.Enum):
    OPS = "ops"  # platform operations (Tier 2)
    DESK = "desk"  # support desk (Tier 1)
    CHAMPION = "champion"  # a school's champion (Tier 0), scoped to one school
    AUDITOR = "auditor"  # reads the audit trail, nothing else


class Permission(str, enum.Enum):
    SYNC_READ = "sync:read"
    QUARANTINE_READ = "quarantine:read"
    DUPLICATES_READ = "duplicates:read"
    ATTENDANCE_AGGREGATES = "attendance:aggregates"
    AUDIT_VERIFY = "audit:verify"
    ADJUSTMENTS_READ = "adjustments:read"
    ADJUSTMENTS_DECIDE = "adjustments:decide"  # a champion or principal, own school only
    RECONCILIATION_READ = "reconciliation:read"  # stored fingerprints of both sides


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OPS: frozenset({Permission.SYNC_READ, Permission.QUARANTINE_READ,
                         Permission.DUPLICATES_READ, Permission.ATTENDANCE_AGGREGATES,
                         Permission.AUDIT_VERIFY, Permission.ADJUSTMENTS_READ,
                         Permission.RECONCILIATION_READ}),
    Role.DESK: frozenset({Permission.DUPLICATES_READ, Permission.ATTENDANCE_AGGREGATES,
                          Permission.ADJUSTMENTS_READ}),
    Role.CHAMPION: frozenset({Permission.ATTENDANCE_AGGREGATES, Permission.ADJUSTMENTS_READ,
                              Permission.ADJUSTMENTS_DECIDE}),
    Role.AUDITOR: frozenset({Permission.AUDIT_VERIFY, Permission.ADJUSTMENTS_READ,
                             Permission.RECONCILIATION_READ}),
}
_SALT = "hudoor-api-token"


class TokenInvalid(Exception):
    """The token is missing, forged, malformed or expired."""


@dataclass(frozen=True)
class Principal:
    """Who is calling the API, and within what scope."""

    subject: str
    role: Role
    school: str | None = None  # upstream school id, for champions

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def sees_school(self, school: str) -> bool:
        """Tell whether this principal may see data of `school` (champions: only their own)."""
        return self.role is not Role.CHAMPION or self.school == school


def issue(session: Session, secret: str, subject: str, role: Role, *, school: str | None,
          actor: str) -> str:
    """Sign a token for `subject` with `role` (audited); the expiry is checked on use."""
    if role is Role.CHAMPION and not school:
        raise ValueError("a champion token needs a school")
    audit.record(session, actor=actor, action="api_token.issue", entity="principal",
                 entity_id=subject, reason="admin API access granted",
                 data={"role": role.value, "school": school})
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps(
        {"sub": subject, "role": role.value, "school": school})


def verify(secret: str, token: str, max_age: timedelta) -> Principal:
    """Return the principal a token names, or raise TokenInvalid."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_SALT).loads(token, max_age=int(max_age.total_seconds()))
        return Principal(str(data["sub"]), Role(data["role"]), data.get("school"))
    except (BadSignature, SignatureExpired, KeyError, ValueError, TypeError) as exc:
        raise TokenInvalid(type(exc).__name__) from exc
