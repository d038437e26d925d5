"""The incident banner: what ops tell everyone, in plain words, on the public status page.

One banner at a time; setting a new one clears the old. Every change is audited (who,
what, when, why). Banners are cleared, never deleted, so the history of what the public
was told stays.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, ticket_text
from core.models import IncidentBanner

MAX_CHARS = 280


class Severity(str, enum.Enum):
    INFO = "info"
    DEGRADED = "degraded"
    OUTAGE = "outage"


class BannerRefused(ValueError):
    """The banner cannot be set or cleared as asked."""


def current(session: Session) -> IncidentBanner | None:
    """Return the banner shown now, if any."""
    return session.scalars(select(IncidentBanner).where(IncidentBanner.cleared_at.is_(None))
                           .order_by(IncidentBanner.id.desc()).limit(1)).first()


def put_up(session: Session, *, severity: Severity, message_ar: str, message_en: str, actor: str,
           reason: str, now: datetime) -> IncidentBanner:
    """Show a banner (replacing the current one), audited."""
    message_ar, message_en = message_ar.strip(), message_en.strip()
    if not message_ar or not message_en:
        raise BannerRefused("a banner needs both an Arabic and an English message")
    if max(len(message_ar), len(message_en)) > MAX_CHARS:
        raise BannerRefused(f"keep each message under {MAX_CHARS} characters: plain and short")
    if not actor.strip() or not reason.strip():
        raise BannerRefused("--by and --reason are required")
    for field, text in (("Arabic", message_ar), ("English", message_en)):
        _screen(field, text)
    old = current(session)
    if old is not None:
        old.cleared_at, old.cleared_by = now, actor[:100]
    row = IncidentBanner(severity=severity.value, message_ar=message_ar, message_en=message_en,
                         set_by=actor[:100], set_at=now)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="banner.set", entity="incident_banner",
                 entity_id=row.id, reason=reason,
                 data={"severity": severity.value, "replaces": old.id if old else None,
                       "message_en": message_en})
    return row


def _screen(field: str, text: str) -> None:
    """Refuse a message that holds what a ticket may not (core/ticket_text.py): it is public."""
    found = ticket_text.findings(text)
    if found:
        where = ", ".join(f"{f.kind} ending …{f.tail}" for f in found[:5])
        raise BannerRefused(
            f"the {field} message was refused: it holds {where}. The banner is public on /status: "
            "no phone numbers, national ids, codes or passwords; nothing was changed")


def take_down(session: Session, *, actor: str, reason: str, now: datetime) -> IncidentBanner:
    """Clear the current banner, audited."""
    row = current(session)
    if row is None:
        raise BannerRefused("no banner is shown")
    if not actor.strip() or not reason.strip():
        raise BannerRefused("--by and --reason are required")
    row.cleared_at, row.cleared_by = now, actor[:100]
    audit.record(session, actor=actor, action="banner.clear", entity="incident_banner",
                 entity_id=row.id, reason=reason, data={})
    return row


def as_json(row: IncidentBanner | None) -> dict[str, str] | None:
    if row is None:
        return None
    return {"severity": row.severity, "ar": row.message_ar, "en": row.message_en,
            "since": row.set_at.isoformat()}
