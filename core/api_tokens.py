"""Admin-API tokens: issued to someone who exists, checked on every request, revocable.

A token is `itsdangerous`-signed and carries only its row's `jti`. Every request reads the
row and the holder: a revoked or expired row, a holder who left, was suspended or moved
school upstream, or a deactivated central staff entry, ends the token at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit
from core.standing import has_access
from core.models import ApiToken, CentralStaff, Person, School
from core.rbac import Principal, Role

_SALT = "hudoor-api-token"
CHAMPION_PERSON_ROLES = frozenset({"champion", "principal"})  # upstream roles that may champion


class TokenInvalid(Exception):
    """The token is missing, forged, revoked, expired, or its holder has lost access."""


class TokenRefused(ValueError):
    """A token cannot be issued: the holder or school does not exist or lacks access."""


@dataclass(frozen=True)
class TokenRow:
    id: int
    role: str
    subject: str
    school: str | None
    issued_at: datetime
    expires_at: datetime
    issued_by: str
    revoked_at: datetime | None


def _serializer(secret: str) -> URLSafeSerializer:
    if not secret:
        raise TokenRefused("HUDOOR_SECRET_KEY is empty: no token can be signed or checked")
    return URLSafeSerializer(secret, salt=_SALT)


def _champion(session: Session, subject: str, school: str | None) -> Person:
    if not school:
        raise TokenRefused("a champion token needs --school")
    school_row = session.scalars(select(School).where(School.upstream_id == school)).first()
    if school_row is None:
        raise TokenRefused(f"no such school {school}")
    person = session.scalars(select(Person).where(Person.upstream_id == subject)).first()
    if person is None or person.school_id != school_row.id:
        raise TokenRefused(f"{subject} is not a person of school {school}")
    if person.role not in CHAMPION_PERSON_ROLES or not has_access(person):
        raise TokenRefused(f"{subject} is not an active champion or principal")
    return person


def _central(session: Session, subject: str, role: Role, school: str | None) -> CentralStaff:
    if school:
        raise TokenRefused("only champion tokens are scoped to a school")
    staff = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == subject)).first()
    if staff is None or not staff.active or staff.role != role.value:
        raise TokenRefused(f"{subject} is not an active {role.value} in the central staff register "
                           "(hudoor staff add)")
    return staff


def issue(session: Session, secret: str, subject: str, role: Role, *, school: str | None,
          actor: str, now: datetime, lifetime: timedelta) -> tuple[str, ApiToken]:
    """Sign a token for an existing holder with `role` (audited); return it and its row.

    Raises:
        TokenRefused: the holder, school or role does not check out.
    """
    serializer = _serializer(secret)
    row = ApiToken(jti=secrets.token_urlsafe(16), role=role.value, issued_at=now,
                   issued_by=actor[:100], expires_at=now + lifetime)
    if role is Role.CHAMPION:
        row.person_id, row.school_upstream_id = _champion(session, subject, school).id, school
    else:
        row.staff_id = _central(session, subject, role, school).id
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="api_token.issue", entity="api_token",
                 entity_id=row.id, reason="admin API access granted",
                 data={"role": role.value, "subject": subject, "school": school,
                       "expires_at": row.expires_at.isoformat()})
    return serializer.dumps({"jti": row.jti}), row


def resolve(session: Session, secret: str, token: str, now: datetime) -> Principal:
    """Return the principal a live token names, or raise TokenInvalid."""
    try:
        jti = _serializer(secret).loads(token)["jti"]
    except (BadSignature, TokenRefused, KeyError, TypeError) as exc:
        raise TokenInvalid("not a token of ours") from exc
    row = session.scalars(select(ApiToken).where(ApiToken.jti == str(jti))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise TokenInvalid("revoked or expired")
    role = Role(row.role)
    if row.person_id is not None:
        person = session.get(Person, row.person_id)
        school = session.scalars(select(School.upstream_id).where(
            School.id == person.school_id)).first() if person else None
        if person is None or not has_access(person) or school != row.school_upstream_id:
            raise TokenInvalid("the holder no longer has access")
        return Principal(person.upstream_id, role, row.school_upstream_id, row.id)
    staff = session.get(CentralStaff, row.staff_id) if row.staff_id is not None else None
    if staff is None or not staff.active or staff.role != row.role:
        raise TokenInvalid("the holder no longer has access")
    return Principal(staff.staff_ref, role, None, row.id)


def revoke(session: Session, token_id: int, *, actor: str, reason: str, now: datetime) -> bool:
    """Revoke one token (audited); False when it was unknown or already revoked."""
    changed = session.execute(update(ApiToken).where(ApiToken.id == token_id,
                                                     ApiToken.revoked_at.is_(None))
                              .values(revoked_at=now, revoked_reason=reason[:200])).rowcount
    if changed:
        audit.record(session, actor=actor, action="api_token.revoke", entity="api_token",
                     entity_id=token_id, reason=reason)
    return bool(changed)


def listing(session: Session, now: datetime, *, include_ended: bool = False) -> list[TokenRow]:
    """Return tokens, live ones only unless `include_ended`, oldest first (never their values)."""
    q = (select(ApiToken, Person.upstream_id, CentralStaff.staff_ref)
         .outerjoin(Person, Person.id == ApiToken.person_id)
         .outerjoin(CentralStaff, CentralStaff.id == ApiToken.staff_id).order_by(ApiToken.id))
    if not include_ended:
        q = q.where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)
    return [TokenRow(t.id, t.role, person or staff or "?", t.school_upstream_id, t.issued_at,
                     t.expires_at, t.issued_by, t.revoked_at)
            for t, person, staff in session.execute(q)]
