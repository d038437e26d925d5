"""One-time codes: activation codes for staff, slip codes for guardians (C6)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.models import CodeKind, OneTimeCode, Person, Role, utcnow

CODE_DIGITS = {CodeKind.STAFF_ACTIVATION: 6, CodeKind.GUARDIAN_SLIP: 8}
STAFF_ROLES = frozenset({Role.TEACHER.value, Role.CHAMPION.value, Role.PRINCIPAL.value})


class CodeError(ValueError):
    """A code cannot be issued (unknown person, wrong role)."""


def person_number(upstream_id: str) -> str:
    """Return the keypad form of an upstream id: its digits (STF-0001-0012 → 00010012)."""
    return re.sub(r"\D", "", upstream_id)


def code_hash(secret: str, kind: str, code: str) -> str:
    """Return the keyed hash a code is stored and looked up by."""
    return hmac.new(secret.encode(), f"{kind}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class IssuedCode:
    person_upstream_id: str
    number: str
    display_name: str
    code: str
    expires_at: datetime


def issue(session: Session, secret: str, kind: CodeKind, person: Person, *, actor: str,
          ttl: timedelta) -> IssuedCode:
    """Issue a fresh code for `person` (earlier unused codes of that kind stop working)."""
    if kind is CodeKind.STAFF_ACTIVATION and person.role not in STAFF_ROLES:
        raise CodeError(f"{person.upstream_id} is not staff")
    if kind is CodeKind.GUARDIAN_SLIP and person.role != Role.STUDENT.value:
        raise CodeError(f"{person.upstream_id} is not a student")
    if not person.active:
        raise CodeError(f"{person.upstream_id} has left")
    now = utcnow()
    session.execute(update(OneTimeCode).where(
        OneTimeCode.person_id == person.id, OneTimeCode.kind == kind.value,
        OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now).values(expires_at=now))
    for _attempt in range(10):
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS[kind]))
        row = OneTimeCode(kind=kind.value, person_id=person.id, code_hash=code_hash(secret, kind.value, code),
                          issued_by=actor[:100], expires_at=now + ttl)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            break
        except IntegrityError:  # the same code is live for someone else: draw again
            continue
    else:  # pragma: no cover - ten collisions in a row means the code space is exhausted
        raise CodeError("could not draw an unused code")
    audit.record(session, actor=actor, action="code.issue", entity="person", entity_id=person.id,
                 reason=f"{kind.value} code issued", data={"expires_at": row.expires_at.isoformat()})
    return IssuedCode(person.upstream_id, person_number(person.upstream_id), person.display_name,
                      code, row.expires_at)


def find(session: Session, secret: str, kind: CodeKind, number: str, code: str) -> Person | None:
    """Return the person whose live code this is, if `number` is theirs too."""
    if not (number.isdigit() and code.isdigit()):
        return None
    row = session.scalars(select(OneTimeCode).where(
        OneTimeCode.code_hash == code_hash(secret, kind.value, code),
        OneTimeCode.kind == kind.value, OneTimeCode.expires_at > utcnow(),
        OneTimeCode.used_at.is_(None))).first()
    if row is None:
        return None
    person = session.get(Person, row.person_id)
    if person is None or not person.active or person_number(person.upstream_id) != number:
        return None
    return person


def consume(session: Session, secret: str, kind: CodeKind, code: str, msisdn: str) -> bool:
    """Mark a code used by `msisdn`; False when it was already used or expired (a race)."""
    result = session.execute(update(OneTimeCode).where(
        OneTimeCode.code_hash == code_hash(secret, kind.value, code), OneTimeCode.used_at.is_(None),
        OneTimeCode.expires_at > utcnow()).values(used_at=utcnow(), used_by=msisdn))
    return bool(result.rowcount)
