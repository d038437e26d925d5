"""Restore a backup into a fresh database and verify it against the backup's description.

PostgreSQL backups go into a new throwaway cluster started for the drill (durable settings,
as a real restore would run); SQLite backups into a new file. Verification: the schema
revision, every table's row count, the whole audit chain with its key and the anchors kept
outside the database, and the chain's head against the one read at backup time.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from core import audit_anchor
from core.config import Config
from core.db import make_engine, make_sessionmaker
from core.drill.backup import Snapshot, describe, libpq
from core.drill.cluster import PostgresCluster, ServerUnavailable, pg_bin


@dataclass
class Restored:
    """A restored copy: where it is, how long the restore took, and what to stop after."""

    url: str
    seconds: float
    cluster: PostgresCluster | None = None

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def restore(snapshot: Snapshot, workdir: Path) -> Restored:
    """Restore `snapshot` into a fresh database under `workdir`."""
    start = time.monotonic()
    if snapshot.path.suffix == ".sqlite":
        target = workdir / "restored.sqlite"
        shutil.copyfile(snapshot.path, target)
        return Restored(f"sqlite:///{target}", time.monotonic() - start)
    binary = pg_bin("pg_restore")
    if binary is None:
        raise ServerUnavailable("pg_restore not found (PostgreSQL client binaries)")
    cluster = PostgresCluster.start(fast=False)
    try:
        url = cluster.create_database("hudoor_restored")
        dsn, env = libpq(url)
        done = subprocess.run([binary, "--no-owner", "--exit-on-error", "--jobs", "2",
                               "--dbname", dsn, str(snapshot.path)],
                              env=env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"pg_restore failed: {done.stderr.strip()[:500]}")
    except BaseException:
        cluster.stop()
        raise
    return Restored(url, time.monotonic() - start, cluster)


def verify(restored: Restored, snapshot: Snapshot, config: Config) -> list[Check]:
    """Compare the restored copy with what the backup held; return every check's outcome."""
    engine = make_engine(restored.url)
    try:
        with engine.connect() as conn:
            counts, seq, head, revision, _ = describe(conn, sample=0)
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))  # a restored cluster has no planner statistics
                conn.commit()
        checks = [
            Check("schema revision", revision == snapshot.revision,
                  f"{revision} (backup: {snapshot.revision})"),
            _counts(counts, snapshot.counts),
            Check("audit head", (seq, head) == (snapshot.audit_seq, snapshot.audit_hash),
                  f"seq {seq} {head[:16]}… (backup: seq {snapshot.audit_seq} "
                  f"{snapshot.audit_hash[:16]}…)"),
        ]
        with make_sessionmaker(engine, config.audit_key_bytes)() as session:
            result = audit_anchor.verify(session, config.audit_anchor_path,
                                         expect_head=snapshot.audit_hash or None)
        detail = f"{result.checked} entries re-hashed with the key"
        if config.audit_anchor_path.exists():
            detail += f", anchors in {config.audit_anchor_path.name} hold"
        checks.append(Check("audit chain", result.ok,
                            "; ".join(result.problems[:3]) if result.problems else detail))
        return checks
    finally:
        engine.dispose()


def _counts(restored: dict[str, int], backed_up: dict[str, int]) -> Check:
    differing = sorted(name for name in set(restored) | set(backed_up)
                       if restored.get(name) != backed_up.get(name))
    if differing:
        return Check("row counts", False, ", ".join(
            f"{n}: {restored.get(n)} (backup {backed_up.get(n)})" for n in differing[:5]))
    return Check("row counts", True,
                 f"{len(restored)} tables, {sum(restored.values()):,} rows, all equal")
