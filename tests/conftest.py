"""Fixtures: real Redis, SQLite and a throwaway PostgreSQL cluster, the app and its CLI."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import text

from core import calendar_seed, migrate
from core.config import Config
from core.db import make_engine
from core.models import APPEND_ONLY_TRIGGERS, Base
from core.runtime import Runtime
from sandbox.district import District
from sandbox.server import SandboxServer
from core.upstream.client import HttpTransport
from gateway.app import create_app
from tests.support.servers import PostgresCluster, RedisServer, ServerUnavailable

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Database ids restart in every test, so per-process caches must too."""
    from core import calendar_store
    from gateway.ussd import HOPS
    from ussd import cache, service

    cache.forget_process_caches()
    service._CLASS_READERS.clear()
    calendar_store.forget()
    HOPS.forget()  # one test's unflushed hop counts must not land in the next one's Redis
    yield
    cache.forget_process_caches()
    service._CLASS_READERS.clear()
    calendar_store.forget()
    HOPS.forget()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    conn = redis.Redis.from_url(redis_server.url)
    conn.flushall()
    conn.close()
    return redis_server.url


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster | None]:
    try:
        cluster = PostgresCluster.start()
    except ServerUnavailable as exc:
        if IN_CI:
            raise
        print(f"\n*** PostgreSQL tests SKIPPED: {exc} ***\n")
        yield None
        return
    template = cluster.create_database("hudoor_template")
    migrate.upgrade(template)
    cluster.create_database("hudoor_test", template="hudoor_template")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # A test may have dropped the append-only guard to play a tampering superuser.
        conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log"))
        for statement in APPEND_ONLY_TRIGGERS["postgresql"]:
            conn.execute(text(statement))
        for name, rows in calendar_seed.seed_rows().items():  # what migration 0011 seeds
            conn.execute(Base.metadata.tables[name].insert(), rows)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend in turn."""
    if request.param == "sqlite":
        path = tmp_path / "hudoor.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    cluster = request.getfixturevalue("pg_cluster")
    if cluster is None:
        pytest.skip("PostgreSQL binaries not on this machine (outside CI)")
    url = cluster.url("hudoor_test")
    _truncate_pg(url)
    return url


# The shaper's guard (decision 8) also bounds how late a sender may hand a message over;
# later than half of it, the moment is given back and rebooked. On a busy single core a
# thread can wake tens of ms late, so with the production 10 ms most moments would be
# given back and a test would measure the machine, not the code. Tests of that rule and of
# pacing set their own guard; every other test gets one wide enough for any machine.
TEST_GUARD_MS = 400


@pytest.fixture
def config(db_url: str, redis_url: str, tmp_path: Path) -> Config:
    return Config(env="test", var_dir=tmp_path / "var", database_url=db_url, redis_url=redis_url,
                  ussd_callback_token="test-ussd-token", dlr_callback_token="test-dlr-token",
                  inbound_callback_token="test-inbound-token", upstream_retries=1,
                  shaper_guard_ms=TEST_GUARD_MS)


SCHOOL_MORNING = datetime(2026, 11, 29, 7, 30, tzinfo=timezone.utc)  # Sunday 09:30 in Cairo


@pytest.fixture
def runtime(config: Config) -> Iterator[Runtime]:
    rt = Runtime(config, clock=lambda: SCHOOL_MORNING)
    yield rt
    rt.close()


@pytest.fixture
def app(runtime: Runtime):  # type: ignore[no-untyped-def]
    return create_app({"TESTING": True, "HUDOOR_RUNTIME": runtime})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(District(seed=7, schools=2, students_per_school=90,
                                teachers_per_school=5)) as server:
        yield server


@pytest.fixture
def synced(runtime, sandbox):  # type: ignore[no-untyped-def]
    """The runtime after one full sync from the sandbox."""
    from core.sync.full import run_full

    runtime.transport = HttpTransport(sandbox.url, retries=3, backoff=0.01)
    runtime.config = runtime.config.with_overrides(upstream_url=sandbox.url, upstream_page_size=40)
    report = run_full(runtime.sessions, runtime.upstream())
    assert report.status == "done"
    return runtime
