"""One-time codes: activation codes for staff, slip codes for guardians (C6)."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.models import CodeKind, OneTimeCode, Person, Role, utcnow

# Sized so that a live code survives guessing from every SIM in Egypt, and so that the
# unique index over every code ever issued never runs the space dry: docs/decisions/0013.
CODE_DIGITS = {CodeKind.STAFF_ACTIVATION: 9, CodeKind.GUARDIAN_SLIP: 10}
MAX_WRONG_TRIES = 3  # wrong tries at one live code (by its number, or by its value) burn it
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
    replaced: bool = False  # an earlier unused code of this person stopped working


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
    replaced = session.execute(update(OneTimeCode).where(
        OneTimeCode.person_id == person.id, OneTimeCode.kind == kind.value,
        _live(now)).values(expires_at=now)).rowcount or 0
    for _attempt in range(20):
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS[kind]))
        row = OneTimeCode(kind=kind.value, person_id=person.id, code_hash=code_hash(secret, kind.value, code),
                          number=person_number(person.upstream_id), failures=0,
                          issued_by=actor[:100], expires_at=now + ttl)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
            break
        except IntegrityError:  # this code was issued before (to anyone, ever): draw again
            continue
    else:  # pragma: no cover - twenty collisions in a row means the code space is exhausted
        raise CodeError("could not draw an unused code")
    audit.record(session, actor=actor, action="code.issue", entity="person", entity_id=person.id,
                 reason=f"{kind.value} code issued",
                 data={"expires_at": row.expires_at.isoformat(), "replaced": replaced})
    return IssuedCode(person.upstream_id, person_number(person.upstream_id), person.display_name,
                      code, row.expires_at, bool(replaced))


def _live(now: datetime) -> ColumnElement[bool]:
    return ((OneTimeCode.used_at.is_(None)) & (OneTimeCode.burned_at.is_(None))
            & (OneTimeCode.expires_at > now))


def has_live_code(session: Session, kind: CodeKind, person_id: int) -> bool:
    """Tell whether the person holds an unused, unexpired, unburned code of this kind."""
    return session.scalar(select(OneTimeCode.id).where(
        OneTimeCode.person_id == person_id, OneTimeCode.kind == kind.value,
        _live(utcnow())).limit(1)) is not None


class Verdict(str, enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"
    BURNED = "burned"  # the number's code took MAX_WRONG_TRIES wrong tries: it works no more


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    person: Person | None = None


def _wrong_try(row: OneTimeCode, now: datetime) -> bool:
    """Count a wrong try at a live code; burn it at MAX_WRONG_TRIES. Return True if burned."""
    row.failures = (row.failures or 0) + 1
    if row.failures >= MAX_WRONG_TRIES:
        row.burned_at = now
        return True
    return False


def check(session: Session, secret: str, kind: CodeKind, number: str, code: str) -> Checked:
    """Check a typed number and code inside the caller's transaction (the caller commits).

    A wrong try counts against the live code of that number (someone guessing a known
    staff number's code, from any number of SIMs) and against the live code the typed
    code is (someone holding a code and hunting for its number); either burns at
    MAX_WRONG_TRIES. The rows are locked first, so concurrent guesses count one by one.
    """
    now = utcnow()
    if not (number.isdigit() and code.isdigit()) or len(number) > 20 or len(code) > 20:
        return Checked(Verdict.WRONG)
    typed = code_hash(secret, kind.value, code)
    target = session.scalars(select(OneTimeCode).where(
        OneTimeCode.kind == kind.value, OneTimeCode.number == number, _live(now))
        .order_by(OneTimeCode.id.desc()).limit(1).with_for_update()).first()
    if target is not None and hmac.compare_digest(target.code_hash, typed):
        person = session.get(Person, target.person_id)
        if person is not None and person.active:
            return Checked(Verdict.RIGHT, person)
        return Checked(Verdict.WRONG)
    other = session.scalars(select(OneTimeCode).where(
        OneTimeCode.code_hash == typed, OneTimeCode.kind == kind.value, _live(now))
        .with_for_update()).first()
    if other is not None:
        _wrong_try(other, now)
    if target is not None:
        return Checked(Verdict.BURNED if _wrong_try(target, now) else Verdict.WRONG)
    latest = session.scalars(select(OneTimeCode).where(
        OneTimeCode.kind == kind.value, OneTimeCode.number == number)
        .order_by(OneTimeCode.id.desc()).limit(1)).first()
    if latest is not None and latest.burned_at is not None and latest.expires_at > now:
        return Checked(Verdict.BURNED)  # still burned: nothing was issued since
    return Checked(Verdict.WRONG)


def consume(session: Session, secret: str, kind: CodeKind, code: str, used_by: str) -> int | None:
    """Mark a live code used; return whose it was, or None when used, burned or expired meanwhile.

    `used_by` names the SIM by its keyed hash (core.pseudonyms), never by its number.
    """
    now = utcnow()
    return session.execute(update(OneTimeCode).where(
        OneTimeCode.code_hash == code_hash(secret, kind.value, code),
        OneTimeCode.kind == kind.value, _live(now))
        .values(used_at=now, used_by=used_by[:20]).returning(OneTimeCode.person_id)).scalar()
