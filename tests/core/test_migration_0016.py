"""Migration 0016 on existing data: consent backfilled as "pre-register", stored numbers cut; down undoes."""

from __future__ import annotations

import itertools

import pytest
from alembic import command
from sqlalchemy import inspect, text

from core import migrate
from core.db import make_engine

_names = itertools.count(1)
STOPPED = "2026-11-20 08:00:00+00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_db(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A database migrated to 0011 only."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        cluster = request.getfixturevalue("pg_cluster")
        if cluster is None:
            pytest.skip("PostgreSQL binaries not on this machine (outside CI)")
        url = cluster.create_database(f"hudoor_m16_{next(_names)}")
    migrate.upgrade(url, "0011")
    return url


def _rows(url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def test_existing_guardians_keep_their_consent_and_numbers_are_cut(old_db: str) -> None:
    engine = make_engine(old_db)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO schools (id, upstream_id, name, governorate, active, created_at, "
                          "updated_at) VALUES (1, 'S', 'm', 'g', true, :t, :t)"), {"t": STOPPED})
        conn.execute(text("INSERT INTO people (id, upstream_id, school_id, role, display_name, name_key, "
                          "status, active, created_at, updated_at) VALUES (1, 'K', 1, 'student', 'm', "
                          "'m', 'active', true, :t, :t)"), {"t": STOPPED})
        conn.execute(text("INSERT INTO contacts (id, person_id, msisdn, kind, language, consented_at, "
                          "opted_out_at) VALUES (1, 1, '+201001234567', 'guardian', 'ar', :t, NULL), "
                          "(2, 1, '+201201234567', 'guardian', 'ar', :t, :t), "
                          "(3, 1, '+201501234567', 'staff', 'ar', :t, NULL)"), {"t": STOPPED})
        conn.execute(text("INSERT INTO sms_delivery_reports (dedup_key, provider_message_id, status, "
                          "phone_number, retry_count, applied, received_at) VALUES "
                          "('k', 'AT-1', 'Success', '+201001234567', 0, 'moved', :t)"), {"t": STOPPED})
        conn.execute(text("INSERT INTO sms_inbound (provider_message_id, msisdn, keyword, received_at) "
                          "VALUES ('in-1', '+201201234567', 'stop', :t)"), {"t": STOPPED})
    engine.dispose()

    migrate.upgrade(old_db, "0016")
    consents = _rows(old_db, "SELECT contact_id, granted, wording_version, channel, note "
                             "FROM consent_records ORDER BY id")
    assert [(c, bool(g), v, ch) for c, g, v, ch, _ in consents] == [
        (1, True, "pre-register", "migration"), (2, True, "pre-register", "migration"),
        (2, False, None, "migration")]  # the stopped parent is not written back in
    assert "before the consent register" in consents[0][4]
    assert _rows(old_db, "SELECT phone_ref FROM sms_delivery_reports") == [("…567",)]
    assert _rows(old_db, "SELECT msisdn FROM sms_inbound") == [("…567",)]

    command.downgrade(migrate.alembic_config(old_db), "0011")
    engine = make_engine(old_db)
    names = set(inspect(engine).get_table_names())
    columns = {c["name"] for c in inspect(engine).get_columns("sms_delivery_reports")}
    engine.dispose()
    assert not {"consent_records", "privacy_requests"} & names and "phone_number" in columns
    migrate.upgrade(old_db, "0016")  # and up again
    assert len(_rows(old_db, "SELECT id FROM consent_records")) == 3
