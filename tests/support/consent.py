"""Give every guardian link made by a test factory the consent row enrolment would have written."""

from __future__ import annotations

from sqlalchemy import text

GIVE = text(
    "INSERT INTO consent_records (contact_id, granted, wording_version, channel, at, actor, note) "
    "SELECT c.id, TRUE, 'pre-register', 'migration', c.consented_at, 'test', 'test factory' "
    "FROM contacts c WHERE c.kind = 'guardian' "
    "AND NOT EXISTS (SELECT 1 FROM consent_records r WHERE r.contact_id = c.id)")


def consent_all(session) -> None:  # type: ignore[no-untyped-def]
    """Record consent for every guardian link without a consent row (inside the session)."""
    session.flush()
    session.execute(GIVE)
