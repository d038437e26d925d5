"""A refused transaction leaves nothing behind, and on PostgreSQL keeps the connection's
prepared statements when it wrote nothing (core.db.end_refused, decision 0040)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from core.db import SessionOnDemand, end_refused, make_engine, make_sessionmaker
from core.models import School


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url, pool_size=1, max_overflow=0) if db_url.startswith("postgresql") \
        else make_engine(db_url)
    yield eng
    eng.dispose()


_INSERT = text("INSERT INTO schools (upstream_id, name, governorate, active, created_at, updated_at)"
              " VALUES (:u, 'A school', 'Cairo', true, '2026-11-30', '2026-11-30')")


def _schools(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT upstream_id FROM schools ORDER BY upstream_id")))


def _prepared(session) -> int:  # type: ignore[no-untyped-def]
    """Statements psycopg has prepared on the session's connection (the driver's own cache)."""
    return len(session.connection().connection.dbapi_connection._prepared._names)


def test_what_a_refused_transaction_wrote_is_undone(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        session.execute(_INSERT, {"u": "flushed"})
        session.add(School(upstream_id="pending", name="B", governorate="Giza"))  # never flushed
        end_refused(session)
        assert not session.in_transaction()
    assert _schools(engine) == []


def test_a_refused_transaction_that_only_read_keeps_prepared_statements(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        for _ in range(6):  # psycopg prepares a statement at its fifth use on a connection
            session.execute(text("SELECT count(*) FROM schools WHERE upstream_id = :u"), {"u": "x"})
        assert _prepared(session) >= 1
        before = _prepared(session)
        end_refused(session)
        assert not session.in_transaction()
        assert _prepared(session) == before  # a ROLLBACK would have emptied the cache
        session.execute(_INSERT, {"u": "written"})
        end_refused(session)  # this one wrote: rolled back, and psycopg drops its cache
        assert _prepared(session) == 0
    assert _schools(engine) == []


def test_a_session_never_made_is_left_alone(engine: Engine) -> None:
    lazy = SessionOnDemand(make_sessionmaker(engine))
    end_refused(lazy)  # type: ignore[arg-type]
    assert not lazy.made
