"""Bulk reads on a real streaming replica (pg_basebackup), and a safe fall back to the primary."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

from core import api_tokens, staff_register
from core.models import School, utcnow
from core.rbac import Role
from core.runtime import Runtime
from gateway.app import create_app
from tests.support.servers import PostgresCluster, ServerUnavailable, start_replica

# PostgreSQL only: a streaming replica is a PostgreSQL thing (SQLite reads its one file).
pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


@pytest.fixture(scope="module")
def replica(pg_cluster) -> Iterator[PostgresCluster]:  # type: ignore[no-untyped-def]
    """One streaming replica of the session's cluster, for this module's PostgreSQL tests."""
    if pg_cluster is None:
        pytest.skip("no PostgreSQL binaries")
    try:
        server = start_replica(pg_cluster)
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def postgres_only(config):  # type: ignore[no-untyped-def]
    assert config.database_url.startswith("postgresql")
    return config


@pytest.fixture
def on_replica(postgres_only, request) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    """A runtime on the primary's test database with the replica's copy of it configured."""
    config = postgres_only
    replica = request.getfixturevalue("replica")
    dbname = config.database_url.rsplit("/", 1)[1]
    rt = Runtime(config.with_overrides(replica_url=replica.url(dbname), replica_max_lag_seconds=0.0))
    _wait_caught_up(rt)
    yield rt
    _resume(replica, dbname)
    rt.close()


def _admin(replica: PostgresCluster, dbname: str, sql: str) -> object:
    engine = create_engine(replica.url(dbname))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def _resume(replica: PostgresCluster, dbname: str) -> None:
    _admin(replica, dbname, "SELECT pg_wal_replay_resume()")


def _wait_caught_up(rt: Runtime, tries: int = 2400) -> None:  # up to 2 min on a slow machine
    import time

    for _ in range(tries):
        if rt.replicas.measure().lag_bytes == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up")


def _school_names(rt: Runtime) -> set[str]:
    with rt.replica_sessions() as s:
        return set(s.scalars(select(School.upstream_id)))


def _in_recovery(sessions) -> bool:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return bool(s.execute(text("SELECT pg_is_in_recovery()")).scalar())


def test_bulk_reads_use_the_replica_while_it_keeps_up(on_replica) -> None:  # type: ignore[no-untyped-def]
    rt = on_replica
    with rt.sessions() as s, s.begin():
        s.add(School(upstream_id="REP-1", name="مدرسة", governorate="القاهرة"))
    _wait_caught_up(rt)
    state = rt.replicas.measure()
    assert state.serving and state.lag_bytes == 0
    assert _in_recovery(rt.replicas.reader()) and _in_recovery(rt.fresh_reads())
    assert not _in_recovery(rt.sessions)  # writes and read-your-writes: the primary
    assert "REP-1" in _school_names(rt)


def test_a_lagging_replica_is_detected_and_reads_fall_back_to_the_primary(on_replica, replica) -> None:  # type: ignore[no-untyped-def]
    rt = on_replica
    dbname = rt.config.replica_url.rsplit("/", 1)[1]
    _admin(replica, dbname, "SELECT pg_wal_replay_pause()")
    with rt.sessions() as s, s.begin():
        s.add(School(upstream_id="REP-LATE", name="مدرسة", governorate="الجيزة"))
    state = rt.replicas.measure()
    assert state.configured and state.lag_bytes and state.lag_bytes > 0
    # A fresh reader never reads a replica that misses a commit, whatever the lag allowance.
    assert not _in_recovery(rt.fresh_reads())
    assert not state.serving and "lagging" in state.reason  # allowance 0 s: on the primary
    assert "REP-LATE" in _school_names(rt)  # the read saw the newest commit
    status = create_app({"TESTING": True, "HUDOOR_RUNTIME": rt}).test_client().get("/status.json")
    assert status.get_json()["replica"]["serving_reads"] is False
    _resume(replica, dbname)
    _wait_caught_up(rt)
    assert rt.replicas.measure().serving


def test_an_unreachable_replica_sends_reads_to_the_primary(postgres_only) -> None:  # type: ignore[no-untyped-def]
    config = postgres_only
    from tests.support.servers import free_port

    dead = f"postgresql+psycopg://hudoor@127.0.0.1:{free_port()}/nowhere?connect_timeout=1"
    rt = Runtime(config.with_overrides(replica_url=dead))
    try:
        state = rt.replicas.measure()
        assert state.configured and not state.serving and "unreachable" in state.reason
        assert rt.replica_sessions is rt.sessions
        with rt.sessions() as s, s.begin():
            staff_register.add(s, "OPS-R", "Ops", Role.OPS, actor="test", reason="replica test")
            token, _ = api_tokens.issue(s, rt.config.secret_key, "OPS-R", Role.OPS, school=None,
                                        actor="test", now=utcnow(), lifetime=timedelta(hours=1))
        client = create_app({"TESTING": True, "HUDOOR_RUNTIME": rt}).test_client()
        resp = client.get("/api/v1/sync/runs", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 200  # the admin API still answers, from the primary
    finally:
        rt.close()
