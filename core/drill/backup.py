"""Take a consistent backup and describe it: row counts, audit head and sample reads.

The description is read in the same snapshot the backup is taken from (PostgreSQL: an
exported REPEATABLE READ snapshot handed to pg_dump; SQLite: the online-backup API run
inside one read transaction), so a restore that is right matches it exactly.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from core.db import make_engine
from core.disclosure import cell
from core.drill.cluster import ServerUnavailable, pg_bin
from core.models import AttendanceMark, AttendanceRecord, AuditEntry, School, SchoolClass, utcnow

SampleKey = tuple[str, str]  # (school upstream id, ISO day)


@dataclass
class Snapshot:
    """What a backup holds, read in the backup's own snapshot."""

    url: str  # the source
    path: Path  # the backup file
    taken_at: datetime
    seconds: float
    revision: str | None
    counts: dict[str, int]
    audit_seq: int
    audit_hash: str
    # Each sampled school-day's aggregates, as the admin API must answer them.
    samples: dict[SampleKey, dict[str, object]] = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """Return a SQLAlchemy PostgreSQL URL as pg_dump/pg_restore take it, and their env.

    The password travels in PGPASSWORD, never on a command line others can read.
    """
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def expected_aggregates(conn: Connection, school: str, day: date) -> dict[str, object]:
    """Return a school-day's per-class aggregates the way the admin API reports them."""
    rows = conn.execute(
        select(SchoolClass.upstream_id, AttendanceRecord.class_size, AttendanceMark.status,
               func.count(AttendanceMark.id))
        .join(AttendanceRecord, AttendanceRecord.class_id == SchoolClass.id)
        .join(School, School.id == SchoolClass.school_id)
        .outerjoin(AttendanceMark, AttendanceMark.record_id == AttendanceRecord.id)
        .where(School.upstream_id == school, AttendanceRecord.day == day)
        .group_by(SchoolClass.upstream_id, AttendanceRecord.class_size, AttendanceMark.status)).all()
    classes: dict[str, dict[str, int]] = {}
    for cls, size, status, n in rows:
        entry = classes.setdefault(cls, {"size": size, "absent": 0, "late": 0})
        if status:
            entry[status] = n
    return {"school": school, "day": day.isoformat(), "classes_taken": len(classes),
            "classes": [{"class": k, **{name: cell(n) for name, n in v.items()}}
                        for k, v in sorted(classes.items())]}


def describe(conn: Connection, sample: int) -> tuple[dict[str, int], int, str, str | None,
                                                   dict[SampleKey, dict[str, object]]]:
    """Return row counts per table, the audit head, the schema revision and sample reads."""
    meta = MetaData()
    meta.reflect(conn)
    counts = {name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
              for name, table in sorted(meta.tables.items())}
    head = conn.execute(select(AuditEntry.seq, AuditEntry.hash)
                        .order_by(AuditEntry.seq.desc()).limit(1)).first()
    revision = None
    if "alembic_version" in meta.tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    days = conn.execute(select(School.upstream_id, AttendanceRecord.day).distinct()
                        .join(SchoolClass, SchoolClass.id == AttendanceRecord.class_id)
                        .join(School, School.id == SchoolClass.school_id)
                        .order_by(School.upstream_id, AttendanceRecord.day)).all()
    step = max(1, len(days) // max(1, sample))
    picked = days[::step][:sample]
    samples = {(s, d.isoformat()): expected_aggregates(conn, s, d) for s, d in picked}
    return counts, (head[0] if head else 0), (head[1] if head else ""), revision, samples


def take(url: str, dest: Path, *, sample: int = 20) -> Snapshot:
    """Back up the database at `url` into `dest` (a directory) and describe the backup."""
    dest.mkdir(parents=True, exist_ok=True)
    start, taken_at = time.monotonic(), utcnow()
    engine = make_engine(url) if url.startswith("postgresql") else _sqlite_reader(url)
    try:
        if engine.dialect.name == "postgresql":
            path = dest / "hudoor.pgdump"
            with engine.connect() as conn:
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                snapshot_id = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                described = describe(conn, sample)
                _pg_dump(url, snapshot_id, path)  # while the snapshot's transaction is open
                conn.rollback()
        else:
            path = dest / "hudoor.sqlite"
            with engine.connect() as conn:
                described = describe(conn, sample)
                source = conn.connection.dbapi_connection
                assert isinstance(source, sqlite3.Connection)
                with sqlite3.connect(path) as target:
                    source.backup(target)  # same connection: the read transaction's snapshot
                target.close()
                conn.rollback()
    finally:
        engine.dispose()
    counts, seq, head, revision, samples = described
    return Snapshot(url, path, taken_at, time.monotonic() - start, revision, counts, seq, head, samples)


def _sqlite_reader(url: str) -> Engine:
    """An engine whose transactions are deferred (read) ones: a backup must not block writers."""
    engine = create_engine(url, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")  # the first read fixes the snapshot (WAL)

    return engine


def _pg_dump(url: str, snapshot_id: str, path: Path) -> None:
    binary = pg_bin("pg_dump")
    if binary is None:
        raise ServerUnavailable("pg_dump not found (PostgreSQL client binaries)")
    dsn, env = libpq(url)
    done = subprocess.run([binary, "--format=custom", "--no-owner", f"--snapshot={snapshot_id}",
                           "--file", str(path), "--dbname", dsn],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pg_dump failed: {done.stderr.strip()[:500]}")

