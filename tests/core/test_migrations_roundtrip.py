"""Every Alembic revision has a downgrade that really undoes it (the rollback package).

One database per backend; the chain is walked once: at each revision, upgrade to it and
insert its representative rows, then downgrade one step and upgrade again. The data that
existed before the revision must come through both moves unchanged, and the schema after
the second upgrade must equal the one after the first (tables, columns, types, defaults,
indexes, keys, constraints, triggers, PostgreSQL enum types).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

from core import migrate
from core import models as core_models
from core.db import make_engine
from tests.support.migration_rows import ROWS, filler_row

Schema = dict[str, Any]


def chain(url: str) -> list[tuple[str, str]]:
    """Return (revision, down_revision or "base") from the first revision to the head."""
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    return [(s.revision, s.down_revision or "base")  # type: ignore[misc]
            for s in reversed(list(script.walk_revisions()))]


def move(cfg: AlembicConfig, script: ScriptDirectory, destination: str, *, up: bool) -> None:
    """Run `alembic upgrade|downgrade destination` with one loaded script directory.

    `alembic.command` reloads (recompiles) every migration file on each call; walking the
    chain that way costs more than the migrations themselves.
    """
    def steps(revision, _context):  # type: ignore[no-untyped-def]
        if up:
            return script._upgrade_revs(destination, revision)
        return script._downgrade_revs(destination, revision)

    with EnvironmentContext(cfg, script, fn=steps, destination_rev=destination):
        script.run_env()


def _triggers(conn: sa.Connection) -> list[tuple[str, ...]]:
    if conn.dialect.name == "sqlite":
        return sorted(tuple(r) for r in conn.execute(sa.text(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")))
    return sorted(tuple(r) for r in conn.execute(sa.text(
        "SELECT trigger_name, event_object_table, event_manipulation, action_timing "
        "FROM information_schema.triggers")))


def schema(engine: sa.Engine) -> Schema:
    """Describe the whole schema in comparable, ordered terms (one catalog query per aspect)."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        columns = inspector.get_multi_columns()
        pks = inspector.get_multi_pk_constraint()
        indexes = inspector.get_multi_indexes()
        fks = inspector.get_multi_foreign_keys()
        uniques = inspector.get_multi_unique_constraints()
        checks = inspector.get_multi_check_constraints()
        found: Schema = {}
        for key in sorted(columns, key=lambda k: k[1]):
            if key[1] == "alembic_version":
                continue
            found[key[1]] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                            for c in columns[key]],
                "pk": pks.get(key),
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]),
                                   sorted((k, str(v)) for k, v in i.get("dialect_options", {}).items()))
                                  for i in indexes.get(key, [])),
                "fks": sorted((f["name"] or "", tuple(f["constrained_columns"]), f["referred_table"],
                               tuple(f["referred_columns"])) for f in fks.get(key, [])),
                "uniques": sorted((u["name"] or "", tuple(u["column_names"]))
                                  for u in uniques.get(key, [])),
                "checks": sorted((c["name"] or "", c["sqltext"]) for c in checks.get(key, [])),
            }
        found["<triggers>"] = _triggers(conn)
        if conn.dialect.name == "postgresql":
            found["<enums>"] = sorted((e["name"], tuple(e["labels"])) for e in inspector.get_enums())
            found["<functions>"] = sorted(r[0] for r in conn.execute(sa.text(
                "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace "
                "WHERE nspname = 'public'")))
    return found


def columns_of(described: Schema) -> dict[str, list[str]]:
    """Return each table's column names from a `schema()` description."""
    return {t: [c[0] for c in d["columns"]] for t, d in described.items() if not t.startswith("<")}


def data(engine: sa.Engine, columns: dict[str, list[str]]) -> dict[str, list[tuple[Any, ...]]]:
    """Return the rows of the given tables, only the given columns, in a stable order."""
    with engine.connect() as conn:
        return {t: sorted((tuple(r) for r in conn.execute(  # names quoted where reserved
                    sa.select(*(sa.column(c) for c in cols)).select_from(sa.table(t)))), key=repr)
                for t, cols in columns.items()}


def insert_rows(engine: sa.Engine, revision: str, *, refill: bool = False) -> None:
    """Insert the revision's representative rows, and one row into any table still empty.

    With `refill`, after a round trip, only the tables the downgrade emptied get rows again.
    """
    meta = sa.MetaData()
    meta.reflect(bind=engine)
    with engine.begin() as conn:
        tables = [t for t in meta.sorted_tables if t.name != "alembic_version"]
        counts = conn.execute(sa.select(*(  # one round trip, not one per table
            sa.select(sa.func.count()).select_from(t).scalar_subquery() for t in tables))).one()
        empty = {t.name for t, n in zip(tables, counts) if n == 0}
        for table, row in ROWS.get(revision, []):
            if not refill or table in empty:
                conn.execute(meta.tables[table].insert(), row)
        for table in meta.sorted_tables:
            if table.name in empty and not any(name == table.name for name, _ in ROWS.get(revision, [])):
                try:
                    conn.execute(table.insert(), filler_row(table))
                except sa.exc.DBAPIError as exc:
                    raise AssertionError(
                        f"no generic row fits {table.name} at {revision}: list representative "
                        f"rows for it in tests/support/migration_rows.py ({exc.orig})") from exc


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no revision at all) on each backend in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'roundtrip.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL binaries not on this machine (outside CI)")
    return cluster.create_database("hudoor_roundtrip")  # type: ignore[no-any-return]


def test_every_revision_downgrades_and_upgrades_again_keeping_data_and_schema(empty_url: str) -> None:
    cfg = migrate.alembic_config(empty_url)
    script = ScriptDirectory.from_config(cfg)
    engine = make_engine(empty_url)
    revisions = chain(empty_url)
    assert [r for r, _ in revisions][:11] == [f"{n:04d}" for n in range(1, 12)]
    before = schema(engine)  # the schema at the revision below the current one (none yet)
    try:
        for revision, down in revisions:
            move(cfg, script, revision, up=True)
            insert_rows(engine, revision)
            first = schema(engine)
            # What existed below this revision and still exists must survive; a column the
            # revision renames or replaces (0016: phone numbers become keyed refs) is its own
            # data step, checked by that migration's own test.
            now_there = columns_of(first)
            kept = {t: [c for c in cols if c in now_there.get(t, [])]
                    for t, cols in columns_of(before).items()}
            rows = data(engine, kept)

            move(cfg, script, down, up=False)
            assert schema(engine) == before, f"downgrade of {revision} left a different schema"
            assert data(engine, kept) == rows, f"downgrade of {revision} changed older data"

            move(cfg, script, revision, up=True)
            assert schema(engine) == first, f"{revision} upgraded again differs from the first time"
            assert data(engine, kept) == rows, f"{revision} upgraded again changed older data"
            insert_rows(engine, revision, refill=True)  # what the downgrade dropped, as before
            before = first
    finally:
        engine.dispose()


def test_rolling_back_0007_keeps_a_burned_code_dead(empty_url: str) -> None:
    """Without burned_at the older code would take a burned code again: it expires instead."""
    migrate.upgrade(empty_url, "0007")
    engine = make_engine(empty_url)
    for revision in ("0001", "0002", "0007"):
        wanted = [(t, r) for t, r in ROWS[revision] if t in ("schools", "people", "one_time_codes")]
        meta = sa.MetaData()
        meta.reflect(bind=engine)
        with engine.begin() as conn:
            for table, row in wanted:
                conn.execute(meta.tables[table].insert(), row)
    burned_at = ROWS["0002"][2][1]["issued_at"]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE one_time_codes SET burned_at = :b, failures = 3 WHERE id = 2")
                     .bindparams(sa.bindparam("b", type_=core_models.UTCDateTime())), {"b": burned_at})
    migrate.downgrade(empty_url, "0006")
    with engine.connect() as conn:
        expires = conn.execute(sa.select(sa.column("expires_at", core_models.UTCDateTime()))
                               .select_from(sa.table("one_time_codes"))
                               .where(sa.column("id") == 2)).scalar_one()
    engine.dispose()
    assert expires == burned_at
