"""Build the long-lived parts (engines, sessions, Redis, upstream client) from a Config."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Callable
from functools import cached_property

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import redis_conn
from core.config import Config
from core.db import make_engine, make_sessionmaker
from core.replica import ReplicaRouter
from core.models import utcnow
from core import calendar
from core.upstream import versions
from core.upstream.client import HttpTransport, Transport, UpstreamClient

if TYPE_CHECKING:
    from flask import Flask

# Worker order: capture first; write-back last, and it sheds itself while urgent work waits.
QUEUES = ("urgent", "sync", "default", "digests", "writeback")


@dataclass
class Runtime:
    """One process's connections; passed in, never imported as a global."""

    config: Config
    transport: Transport | None = None
    clock: Callable[[], datetime] = field(default=utcnow)  # tests pin school hours with this
    _redis: redis.Redis | None = field(default=None, repr=False)
    _threads: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        if self.config.fake_now and self.clock is utcnow:
            self.clock = calendar.moving_clock(self.config.fake_now)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.config.effective_database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine, self.config.audit_key_bytes)

    @cached_property
    def replicas(self) -> ReplicaRouter:
        """The router between the primary and the read replica (HUDOOR_REPLICA_URL), R7."""
        engine = make_engine(self.config.replica_url) if self.config.replica_url else None
        sessions = make_sessionmaker(engine, self.config.audit_key_bytes) if engine else None
        return ReplicaRouter(self.sessions, self.engine, sessions, engine,
                             max_lag_seconds=self.config.replica_max_lag_seconds)

    @property
    def replica_sessions(self) -> sessionmaker[Session]:
        """Sessions for bulk reads: the replica while it keeps up, else the primary."""
        return self.replicas.reader()

    def fresh_reads(self) -> sessionmaker[Session]:
        """Sessions for bulk reads that must miss nothing committed: a caught-up replica only."""
        return self.replicas.reader(fresh=True)

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis_conn.connect(self.config)
        return self._redis

    @property
    def thread_redis(self) -> redis.Redis:
        """This thread's own client on `redis`'s pool, holding one connection of it.

        A command on it takes no connection from the pool and gives none back (on the shared
        client that bookkeeping cost more CPU than the command's round trip); a server's
        threads each get one. Pipelines still take theirs from the pool. Rebuilt when
        `redis` is replaced.
        """
        shared, mine = getattr(self._threads, "clients", (None, None))
        if shared is not self.redis or mine is None:
            mine = redis.Redis(connection_pool=self.redis.connection_pool,
                               single_connection_client=True)
            self._threads.clients = (self.redis, mine)
        return mine

    def today(self) -> date:
        """Return today's date in Cairo by this runtime's clock."""
        return calendar.to_cairo(self.clock()).date()

    def upstream(self) -> UpstreamClient:
        """Return a client for HUDOOR_UPSTREAM_URL accepting today's registered versions."""
        transport = self.transport or HttpTransport(
            self.config.upstream_url, token=self.config.upstream_token,
            timeout=self.config.upstream_timeout, retries=self.config.upstream_retries)
        with self.sessions() as session:
            accepted = versions.accepted_versions(session, self.today())
        return UpstreamClient(transport, accepted, page_size=self.config.upstream_page_size)

    def attendance_client(self):  # type: ignore[no-untyped-def]
        """Return a contract v2 client for write-back and reconciliation."""
        from core.writeback.client import AttendanceClient

        return AttendanceClient(self.config.upstream_url, token=self.config.upstream_token,
                                timeout=self.config.writeback_timeout)

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "replicas" in self.__dict__:
            self.replicas.close()


def runtime_of(app: "Flask") -> Runtime:
    """Return the runtime an app was built with (the factory keeps it in `app.extensions`)."""
    rt: Runtime = app.extensions["hudoor"]
    return rt


_worker_runtime: Runtime | None = None


def worker_runtime() -> Runtime:
    """Return this worker process's runtime, built on first use (not at import)."""
    global _worker_runtime
    if _worker_runtime is None:
        _worker_runtime = Runtime(Config.from_env())
    return _worker_runtime
