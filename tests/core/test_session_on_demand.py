"""A hop's database work on a plain Connection until it needs the ORM, and one transaction
either way (core.db.SessionOnDemand, decision 0042)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from core.db import SessionOnDemand, end_reads, end_refused, make_sessionmaker, session_connection
from core.models import School
from tests.core.test_db_refused import _INSERT, _schools, engine  # noqa: F401  (fixture)


def test_core_work_commits_on_its_connection_without_a_session(engine: Engine) -> None:
    with SessionOnDemand(make_sessionmaker(engine, audit_key=b"k" * 32)) as lazy:
        session = lazy  # as a hop passes it on: typed as a Session
        assert session.info == {"audit_key": b"k" * 32}  # the chain's key, no Session made
        conn = session_connection(session)  # type: ignore[arg-type]
        assert conn is session_connection(session)  # type: ignore[arg-type]  # one a transaction
        conn.execute(_INSERT, {"u": "one"})
        assert lazy.in_transaction()
        lazy.commit()
        assert not lazy.in_transaction()
        session_connection(session).execute(_INSERT, {"u": "two"})  # type: ignore[arg-type]  # a new one begins
        end_reads(lazy)  # nothing pending in an ORM: commits (a hop ends its reads so)
        assert lazy.orm is None
    assert _schools(engine) == ["one", "two"]


def test_leaving_without_a_commit_undoes_the_core_work(engine: Engine) -> None:
    with SessionOnDemand(make_sessionmaker(engine)) as lazy:
        session_connection(lazy).execute(_INSERT, {"u": "lost"})  # type: ignore[arg-type]
    assert _schools(engine) == []


def test_the_orm_joins_the_connections_transaction_and_owns_it(engine: Engine) -> None:
    sessions = make_sessionmaker(engine, audit_key=b"k" * 32)
    with SessionOnDemand(sessions) as lazy:
        session_connection(lazy).execute(_INSERT, {"u": "core"})  # type: ignore[arg-type]
        lazy.add(School(upstream_id="orm", name="B", governorate="Giza"))
        assert lazy.orm is not None and lazy.info["audit_key"] == b"k" * 32
        assert lazy.get_bind().dialect.name == engine.dialect.name
        lazy.flush()
        lazy.rollback()  # one transaction: both go
    assert _schools(engine) == []
    with SessionOnDemand(sessions) as lazy:
        session_connection(lazy).execute(_INSERT, {"u": "core"})  # type: ignore[arg-type]
        lazy.add(School(upstream_id="orm", name="B", governorate="Giza"))
        lazy.commit()  # one transaction: both stay
        session_connection(lazy).execute(_INSERT, {"u": "after"})  # type: ignore[arg-type]
        lazy.commit()
    assert _schools(engine) == ["after", "core", "orm"]


def test_pending_orm_changes_are_never_committed_by_end_reads(engine: Engine) -> None:
    with SessionOnDemand(make_sessionmaker(engine)) as lazy:
        session_connection(lazy).execute(_INSERT, {"u": "read-path"})  # type: ignore[arg-type]
        lazy.add(School(upstream_id="pending", name="B", governorate="Giza"))
        end_reads(lazy)
    assert _schools(engine) == []


def test_a_refusal_on_the_connection_undoes_what_it_wrote(engine: Engine) -> None:
    with SessionOnDemand(make_sessionmaker(engine)) as lazy:
        session_connection(lazy).execute(_INSERT, {"u": "refused"})  # type: ignore[arg-type]
        end_refused(lazy)
        assert not lazy.in_transaction() and lazy.orm is None
    assert _schools(engine) == []


def test_a_refusal_that_only_read_keeps_the_connections_prepared_statements(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements")
    with SessionOnDemand(make_sessionmaker(engine)) as lazy:
        conn = session_connection(lazy)  # type: ignore[arg-type]
        for _ in range(6):  # psycopg prepares a statement at its fifth use on a connection
            conn.execute(text("SELECT count(*) FROM schools WHERE upstream_id = :u"), {"u": "x"})
        prepared = conn.connection.dbapi_connection._prepared._names  # type: ignore[union-attr]
        before = len(prepared)
        assert before >= 1
        end_refused(lazy)  # wrote nothing: a COMMIT, not a ROLLBACK that empties the cache
        assert not lazy.in_transaction()
        assert len(prepared) == before


def test_nothing_asked_takes_no_connection(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with SessionOnDemand(sessions) as lazy:
        end_reads(lazy)
        end_refused(lazy)
        assert not lazy.made and lazy.orm is None
    assert engine.pool.checkedout() == 0
