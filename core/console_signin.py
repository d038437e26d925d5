"""Desk-console sign-in without passwords: a staff number, then a code by SMS to the bound SIM.

Who may sign in: an active central staff entry with a consented, bound SIM
(core.staff_register.bind_phone), or a school's champion or principal with access and a SIM
bound by activation. Codes are stored as keyed hashes, live CODE_TTL, are used once, burn after
MAX_WRONG_TRIES, and both asking and guessing are counted per staff number and per address
in SQL (console_attempts), so a Redis wipe forgets no limit. Every step is audited.
Decision 0022 says why each number is what it is.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core import audit
from core.standing import has_access
from core.models import (
    CentralStaff,
    CodeKind,
    ConsoleAttempt,
    ConsoleCode,
    Contact,
    ContactKind,
    OneTimeCode,
    Person,
    School,
)
from core.pseudonyms import msisdn_ref
from core.rbac import Role

CODE_DIGITS = 8  # at most 3 tries a code × 10 codes a day: ≤ 3 × 10⁻⁷ a day for one account
CODE_TTL = timedelta(minutes=5)
MAX_WRONG_TRIES = 3
WINDOW = timedelta(minutes=15)
REQUESTS_PER_NUMBER = 3  # codes asked for one staff number per WINDOW
REQUESTS_PER_NUMBER_DAY = 10  # and per day: each code also wakes its holder's phone
REQUESTS_PER_ADDRESS = 10  # codes asked from one address per WINDOW (any staff numbers)
WRONG_PER_ADDRESS = 10  # wrong codes typed from one address per WINDOW
CHAMPION_PERSON_ROLES = frozenset({"champion", "principal"})  # as core.api_tokens
ACTOR = "desk-console"


@dataclass(frozen=True)
class Holder:
    """Someone who may sign in to the console, and the SIM their codes go to."""

    key: str  # "staff:<staff_ref>" or "person:<upstream id>"
    subject: str
    role: Role
    school: str | None
    msisdn: str
    language: str
    staff_id: int | None = None
    person_id: int | None = None


class Outcome(str, enum.Enum):
    SENT = "sent"  # a code is on its way
    UNKNOWN = "unknown"  # no such holder or no bound SIM: the page says the same as SENT
    LIMITED = "limited"  # too many tries: wait
    RIGHT = "right"
    WRONG = "wrong"
    BURNED = "burned"  # the code took MAX_WRONG_TRIES wrong tries: ask for a new one


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    holder: Holder | None = None
    code: str | None = None  # only on SENT: the caller puts it in the SMS, nowhere else
    code_id: int | None = None


def ref(secret: str, value: str) -> str:
    """Return the keyed hash a typed staff number or an address is counted by."""
    return msisdn_ref(secret, value)  # the same keyed hash; the prefix inside differs per use


def _code_hash(secret: str, holder_key: str, code: str) -> str:
    return hmac.new(secret.encode(), f"console:{holder_key}:{code}".encode(),
                    hashlib.sha256).hexdigest()


def find_holder(session: Session, number: str) -> Holder | None:
    """Return who `number` names, if they may sign in: a central staff id, an upstream person
    id, or the keypad number a champion activated their SIM with."""
    number = number.strip()
    if not number or len(number) > 64:
        return None
    staff = session.scalars(select(CentralStaff).where(CentralStaff.staff_ref == number)).first()
    if staff is not None:
        if not staff.active or not staff.msisdn or staff.msisdn_consented_at is None:
            return None
        return Holder(f"staff:{staff.staff_ref}", staff.staff_ref, Role(staff.role), None,
                      staff.msisdn, "ar", staff_id=staff.id)
    person_match = Person.upstream_id == number
    if number.isdigit():  # the keypad number typed at activation (core.codes.person_number)
        activated = select(OneTimeCode.person_id).where(
            OneTimeCode.kind == CodeKind.STAFF_ACTIVATION.value, OneTimeCode.number == number,
            OneTimeCode.used_at.is_not(None))
        person_match = person_match | Person.id.in_(activated)
    row = session.execute(
        select(Person, School.upstream_id, Contact.msisdn, Contact.language)
        .join(School, School.id == Person.school_id)
        .join(Contact, (Contact.person_id == Person.id) & (Contact.kind == ContactKind.STAFF.value)
              & Contact.revoked_at.is_(None))
        .where(person_match).order_by(Contact.id.desc()).limit(1)).first()
    if row is None:
        return None
    person, school, msisdn, language = row
    if person.role not in CHAMPION_PERSON_ROLES or not has_access(person):
        return None
    return Holder(f"person:{person.upstream_id}", person.upstream_id, Role.CHAMPION, school,
                  msisdn, language or "ar", person_id=person.id)


def _count(session: Session, kind: str, column: object, value: str, now: datetime,
           window: timedelta = WINDOW) -> int:
    return int(session.scalar(select(func.count()).select_from(ConsoleAttempt).where(
        ConsoleAttempt.kind == kind, column == value, ConsoleAttempt.at > now - window)) or 0)


def request_code(session: Session, secret: str, number: str, address: str, now: datetime) -> Result:
    """Issue a sign-in code for `number` unless a limit is reached (inside the caller's transaction).

    The caller sends `Result.code` by SMS to `Result.holder.msisdn` and shows the same page
    whether the outcome is SENT or UNKNOWN, so the page tells nobody who is a holder.
    """
    number_ref, ip_ref = ref(secret, f"number:{number.strip()}"), ref(secret, f"ip:{address}")
    limited = (_count(session, "request", ConsoleAttempt.number_ref, number_ref, now)
               >= REQUESTS_PER_NUMBER
               or _count(session, "request", ConsoleAttempt.number_ref, number_ref, now,
                         timedelta(days=1)) >= REQUESTS_PER_NUMBER_DAY
               or _count(session, "request", ConsoleAttempt.ip_ref, ip_ref, now) >= REQUESTS_PER_ADDRESS)
    session.add(ConsoleAttempt(kind="request", number_ref=number_ref, ip_ref=ip_ref, at=now))
    holder = None if limited else find_holder(session, number)
    if limited:
        result = Result(Outcome.LIMITED)
    elif holder is None:
        result = Result(Outcome.UNKNOWN)
    else:
        session.execute(update(ConsoleCode).where(
            ConsoleCode.holder == holder.key, ConsoleCode.used_at.is_(None),
            ConsoleCode.burned_at.is_(None), ConsoleCode.expires_at > now).values(expires_at=now))
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        row = ConsoleCode(holder=holder.key, code_hash=_code_hash(secret, holder.key, code),
                          failures=0, issued_at=now, expires_at=now + CODE_TTL, ip_ref=ip_ref)
        session.add(row)
        session.flush()
        result = Result(Outcome.SENT, holder, code, row.id)
    audit.record(session, actor=ACTOR, action="desk.sign_in.request", entity="console_sign_in",
                 entity_id=holder.key if holder else number_ref,
                 reason="a sign-in code was asked for",
                 data={"outcome": result.outcome.value, "number_ref": number_ref, "ip_ref": ip_ref,
                       "sim_ref": msisdn_ref(secret, holder.msisdn) if holder else None})
    return result


def verify(session: Session, secret: str, number: str, code: str, address: str,
           now: datetime) -> Result:
    """Check a typed code for `number` (inside the caller's transaction, which must commit).

    Right: the code is used and the holder returned. Wrong: counted against the live code
    (burned at MAX_WRONG_TRIES) and against the address (LIMITED past WRONG_PER_ADDRESS).
    """
    number, code = number.strip(), code.strip()
    number_ref, ip_ref = ref(secret, f"number:{number}"), ref(secret, f"ip:{address}")
    result = _verify(session, secret, number, code, ip_ref, now)
    if result.outcome is not Outcome.RIGHT and result.outcome is not Outcome.LIMITED:
        session.add(ConsoleAttempt(kind="wrong", number_ref=number_ref, ip_ref=ip_ref, at=now))
    holder = result.holder
    audit.record(session, actor=holder.key if holder else ACTOR,
                 action="desk.sign_in.success" if holder else "desk.sign_in.failure",
                 entity="console_sign_in", entity_id=holder.key if holder else number_ref,
                 reason="signed in with a code sent by SMS" if holder else "a sign-in code was refused",
                 data={"outcome": result.outcome.value, "number_ref": number_ref, "ip_ref": ip_ref})
    return result


def _verify(session: Session, secret: str, number: str, code: str, ip_ref: str,
            now: datetime) -> Result:
    if _count(session, "wrong", ConsoleAttempt.ip_ref, ip_ref, now) >= WRONG_PER_ADDRESS:
        return Result(Outcome.LIMITED)
    holder = find_holder(session, number)
    if holder is None or not code.isdigit() or len(code) != CODE_DIGITS:
        return Result(Outcome.WRONG)
    live = session.scalars(select(ConsoleCode).where(
        ConsoleCode.holder == holder.key, ConsoleCode.used_at.is_(None),
        ConsoleCode.burned_at.is_(None), ConsoleCode.expires_at > now)
        .order_by(ConsoleCode.id.desc()).limit(1).with_for_update()).first()
    if live is None:
        return Result(Outcome.WRONG)
    if hmac.compare_digest(live.code_hash, _code_hash(secret, holder.key, code)):
        live.used_at = now
        return Result(Outcome.RIGHT, holder, code_id=live.id)
    live.failures = (live.failures or 0) + 1
    if live.failures >= MAX_WRONG_TRIES:
        live.burned_at = now
        return Result(Outcome.BURNED)
    return Result(Outcome.WRONG)
