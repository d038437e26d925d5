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


def register(session: Session, version: str, notice: date, effective: date, actor: str) -> None:
    """Register an upcoming upstream schema version (audited)."""
    if effective - notice < MIN_NOTICE:
        raise NoticeTooShort(
            f"version {version}: effective {effective} is only {(effective - notice).days} days"
            f" after notice {notice}; the agreement needs {MIN_NOTICE.days}"
        )
    row = session.get(ContractVersion, version)
    if row is None:
        session.add(ContractVersion(version=version, notice_date=notice, effective_date=effective,
                                    registered_by=actor))
    else:
        row.notice_date, row.effective_date, row.registered_by = notice, effective, actor
    audit.record(session, actor=actor, action="contract.register", entity="contract_version",
                 entity_id=version, reason="upstream announced a schema change",
                 data={"notice": notice.isoformat(), "effective": effective.isoformat()})


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
