"""Role-based access for the admin API: roles, their permissions, the caller; deny by default.

Tokens (issue, check, revoke) are in core/api_tokens.py; central staff in core/staff_register.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(str, enum.Enum):
    OPS = "ops"  # platform operations (Tier 2)
    DESK = "desk"  # support desk (Tier 1)
    CHAMPION = "champion"  # a school's champion (Tier 0), scoped to one school
    AUDITOR = "auditor"  # reads the audit trail, nothing else
    SECURITY = "security"  # security officer: the audit trail and who holds API tokens


class Permission(str, enum.Enum):
    SYNC_READ = "sync:read"
    QUARANTINE_READ = "quarantine:read"
    DUPLICATES_READ = "duplicates:read"
    ATTENDANCE_AGGREGATES = "attendance:aggregates"
    AUDIT_VERIFY = "audit:verify"
    TOKENS_READ = "tokens:read"
    PAPER_UPLOAD = "paper:upload"  # a school's paper register (champion, or the desk for it)
    PARITY_READ = "parity:read"  # one school's parity and anomaly figures (champion, ops)
    ADJUSTMENTS_READ = "adjustments:read"
    ADJUSTMENTS_DECIDE = "adjustments:decide"  # a champion or principal, own school only
    RECONCILIATION_READ = "reconciliation:read"  # stored fingerprints of both sides
    ASSESSMENTS_READ = "assessments:read"  # quiz results per class: aggregates, small cells suppressed
    TICKETS_READ = "tickets:read"  # the support worklist (champions: own school; no security ones)
    TICKETS_WRITE = "tickets:write"  # open, escalate, assign, close, flag security
    BREACH_READ = "breach:read"  # breach cases, their clocks and sealed evidence checks
    BREACH_DECIDE = "breach:decide"  # security only: breach or not, notices sent
    BULK_READ = "bulk:read"  # reversible bulk operations and their before-images (C4)
    BULK_REVERT = "bulk:revert"  # undo one within 72 h
    PEOPLE_MERGE = "people:merge"  # merge a suspected duplicate into a canonical person
    PEOPLE_HISTORY = "people:history"  # one identity's history, by any of its ids
    SUPPORT_REQUEST = "support:request"  # a desk agent asks a champion/person for a view (R6)
    SUPPORT_VIEW = "support:view"  # the granted read-only view itself (only the asking agent)
    DESK_HOME = "desk:home"  # the desk console's own pages: every role that signs in to it
    SUPPORT_ANALYTICS = "support:analytics"  # aggregate worklists of schools needing help (G5)


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.OPS: frozenset({Permission.SYNC_READ, Permission.QUARANTINE_READ,
                         Permission.DUPLICATES_READ, Permission.ATTENDANCE_AGGREGATES,
                         Permission.AUDIT_VERIFY, Permission.PARITY_READ,
                         Permission.ADJUSTMENTS_READ, Permission.RECONCILIATION_READ,
                         Permission.ASSESSMENTS_READ, Permission.TICKETS_READ,
                         Permission.TICKETS_WRITE, Permission.BULK_READ, Permission.BULK_REVERT,
                         Permission.PEOPLE_MERGE, Permission.PEOPLE_HISTORY,
                         Permission.DESK_HOME, Permission.SUPPORT_ANALYTICS}),
    # The desk sees duplicates and bulk operations but merges nothing and reverts nothing:
    # that is ops' (decision 0024). It asks for support views; the view needs a live grant.
    Role.DESK: frozenset({Permission.DUPLICATES_READ, Permission.ATTENDANCE_AGGREGATES,
                          Permission.PAPER_UPLOAD, Permission.ADJUSTMENTS_READ,
                          Permission.TICKETS_READ, Permission.TICKETS_WRITE,
                          Permission.BULK_READ, Permission.SUPPORT_REQUEST,
                          Permission.SUPPORT_VIEW, Permission.DESK_HOME,
                          Permission.SUPPORT_ANALYTICS}),
    Role.CHAMPION: frozenset({Permission.ATTENDANCE_AGGREGATES, Permission.PAPER_UPLOAD,
                              Permission.PARITY_READ, Permission.ADJUSTMENTS_READ,
                              Permission.ADJUSTMENTS_DECIDE, Permission.ASSESSMENTS_READ,
                              Permission.TICKETS_READ, Permission.TICKETS_WRITE,
                              Permission.DESK_HOME}),
    Role.AUDITOR: frozenset({Permission.AUDIT_VERIFY, Permission.ADJUSTMENTS_READ,
                             Permission.RECONCILIATION_READ, Permission.BREACH_READ,
                             Permission.BULK_READ, Permission.PEOPLE_HISTORY,
                             Permission.DESK_HOME}),
    Role.SECURITY: frozenset({Permission.AUDIT_VERIFY, Permission.TOKENS_READ,
                              Permission.TICKETS_READ, Permission.TICKETS_WRITE,
                              Permission.BREACH_READ, Permission.BREACH_DECIDE,
                              Permission.DESK_HOME}),
}
CENTRAL_ROLES = frozenset(r for r in Role if r is not Role.CHAMPION)  # held by central staff


@dataclass(frozen=True)
class Principal:
    """Who is calling the API or using the desk console, and within what scope."""

    subject: str
    role: Role
    school: str | None = None  # upstream school id, for champions
    token_id: int | None = None  # the api_tokens row the call came with
    session_id: int | None = None  # the console_sessions row a desk-console request came with

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def sees_school(self, school: str) -> bool:
        """Tell whether this principal may see data of `school` (champions: only their own)."""
        return self.role is not Role.CHAMPION or self.school == school
