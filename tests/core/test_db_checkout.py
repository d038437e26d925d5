"""A pooled PostgreSQL connection the server has closed is never handed out (core.db).

The first use after a restart, a terminated backend or an idle timeout must work, not
answer busy; and noticing it must cost no round trip (decision 0039).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.db import closed_by_server, make_engine


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's pool")
    return db_url


def test_a_connection_the_server_terminated_is_replaced_on_checkout(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        killer = make_engine(pg_url)
        with killer.connect() as other:
            assert other.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        killer.dispose()
        import time

        deadline = time.monotonic() + 10  # the backend's end reaches the socket shortly
        pooled = engine.pool._pool.queue[0].dbapi_connection  # type: ignore[attr-defined]
        while not closed_by_server(pooled) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert closed_by_server(pooled)
        with engine.connect() as conn:  # the one pooled connection was dead: a new one
            assert conn.scalar(text("SELECT pg_backend_pid()")) != pid
    finally:
        engine.dispose()


def test_a_live_idle_connection_reads_as_open_and_its_checkout_sends_nothing(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        pooled = engine.pool._pool.queue[0].dbapi_connection  # type: ignore[attr-defined]
        assert not closed_by_server(pooled)
        sent: list[str] = []
        import psycopg

        execute = psycopg.Cursor.execute

        def spy(self, query, *args, **kwargs):  # type: ignore[no-untyped-def]
            sent.append(str(query))
            return execute(self, query, *args, **kwargs)

        psycopg.Cursor.execute = spy  # type: ignore[method-assign]
        try:
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT pg_backend_pid()")) == pid  # the same connection
        finally:
            psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        assert sent == ["SELECT pg_backend_pid()"]  # no ping before it
    finally:
        engine.dispose()
