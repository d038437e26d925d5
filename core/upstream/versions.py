"""Which upstream schema versions Hudoor accepts, and registering new ones with notice."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.models import ContractVersion

KNOWN_VERSIONS = frozenset({"1"})
MIN_NOTICE = timedelta(days=30)


class SchemaVersionRefused(Exception):
    """Upstream served a schema version that is not (yet) accepted."""


class NoticeTooShort(ValueError):
    """A version was registered with less than 30 days between notice and effect."""


class RegistrationRefused(ValueError):
    """A registration would backdate its notice or change the dates of a registered version."""


def register(session: Session, version: str, effective: date, actor: str, today: date) -> bool:
    """Register an upcoming upstream schema version, noticed today (audited).

    The notice date is the day of registration, never an argument: a notice cannot be
    backdated. A registered version's dates never change (a postponed change is a new
    version); registering it again with the same effective date changes nothing.

    Returns:
        True when the version was registered now, False when it already was, unchanged.

    Raises:
        NoticeTooShort: `effective` is less than 30 days after today.
        RegistrationRefused: the version is registered already with other dates.
    """
    row = session.get(ContractVersion, version)
    if row is not None:
        if row.effective_date == effective:
            return False
        raise RegistrationRefused(
            f"version {version} was registered on {row.notice_date} effective "
            f"{row.effective_date}; its dates cannot change (announce a new version instead)")
    if effective - today < MIN_NOTICE:
        raise NoticeTooShort(
            f"version {version}: effective {effective} is only {(effective - today).days} days"
            f" after today's notice ({today}); the agreement needs {MIN_NOTICE.days}"
        )
    session.add(ContractVersion(version=version, notice_date=today, effective_date=effective,
                                registered_by=actor))
    audit.record(session, actor=actor, action="contract.register", entity="contract_version",
                 entity_id=version, reason="upstream announced a schema change",
                 data={"notice": today.isoformat(), "effective": effective.isoformat()})
    return True


def accepted_versions(session: Session, today: date) -> frozenset[str]:
    """Return every version acceptable on `today`."""
    rows = session.scalars(
        select(ContractVersion.version).where(ContractVersion.effective_date <= today)
    ).all()
    return KNOWN_VERSIONS | frozenset(rows)


def check(version: object, accepted: frozenset[str]) -> str:
    """Return `version` if accepted; raise SchemaVersionRefused otherwise."""
    if not isinstance(version, str) or version not in accepted:
        raise SchemaVersionRefused(
            f"upstream schema version {version!r} is not accepted (accepted: "
            f"{', '.join(sorted(accepted))}); register it with 30 days' notice"
        )
    return version
