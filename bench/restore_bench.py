"""Benchmark `hudoor drill restore` on a national district (800,000 students) on PostgreSQL.

Starts its own throwaway PostgreSQL cluster (durable settings) and Redis, builds one
national school day in set-based statements (tests/support/school_day.py) plus a day's
audit entries (one per class confirmed, through core.audit so the chain is real), anchors
the chain, then runs `hudoor drill restore --json` as a child process.

The floor, measured in the same run, is the work no restore can avoid: `pg_dump` of the
same database, initdb of a fresh durable cluster, `pg_restore --jobs 2` into it. The drill
adds its verification (row counts, the re-hashed audit chain, reads through the app).
Targets: RTO (restore start → the copy answers every sampled read) ≤ 15 min on this machine,
and the whole drill ≤ 2× the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from core import audit, migrate  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.drill.backup import libpq  # noqa: E402
from core.drill.cluster import PostgresCluster, pg_bin  # noqa: E402
from core.models import SchoolClass  # noqa: E402
from tests.support.school_day import build  # noqa: E402
from tests.support.servers import RedisServer  # noqa: E402

HUDOOR = str(Path(sys.executable).parent / "hudoor")
DAY = date(2026, 11, 29)
AUDIT_KEY = "bench-audit-key-" + "x" * 32
TARGET_RTO_S, TARGET_RATIO = 900.0, 2.0


def _audit_day(url: str) -> int:
    """Write one audit entry per class, as a national morning's confirms would."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, AUDIT_KEY.encode())
    with sessions() as s, s.begin():
        classes = s.scalars(select(SchoolClass.id)).all()
        for class_id in classes:
            audit.record(s, actor="bench", action="attendance.confirm", entity="class",
                         entity_id=class_id, reason="morning register", data={"day": DAY.isoformat()})
    engine.dispose()
    return len(classes)


def _floor(url: str, workdir: Path) -> float:
    """pg_dump, a fresh durable cluster, pg_restore: what any restore must do."""
    dump = workdir / "floor.pgdump"
    dsn, env = libpq(url)
    start = time.monotonic()
    subprocess.run([pg_bin("pg_dump"), "--format=custom", "--no-owner", "--file", str(dump),
                    "--dbname", dsn], env=env, check=True)
    target = PostgresCluster.start(fast=False)
    try:
        tdsn, tenv = libpq(target.create_database("floor"))
        subprocess.run([pg_bin("pg_restore"), "--no-owner", "--exit-on-error", "--jobs", "2",
                        "--dbname", tdsn, str(dump)], env=tenv, check=True)
        return time.monotonic() - start
    finally:
        target.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--students", type=int, default=800_000)
    ap.add_argument("--sample", type=int, default=20)
    args = ap.parse_args()
    print(f"restore drill bench: {args.students:,} students on PostgreSQL "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)", flush=True)
    pg = PostgresCluster.start(fast=False)
    redis_server = RedisServer.start()
    with tempfile.TemporaryDirectory(prefix="hudoor-restore-bench-") as tmp:
        try:
            url = pg.create_database("bench")
            migrate.upgrade(url)
            started = time.monotonic()
            build(make_engine(url), args.students, DAY)
            entries = _audit_day(url)
            print(f"built {args.students:,} students and {entries:,} audit entries in "
                  f"{time.monotonic() - started:.1f} s", flush=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("HUDOOR_")}
            env.update(HUDOOR_DATABASE_URL=url, HUDOOR_REDIS_URL=redis_server.url,
                       HUDOOR_VAR_DIR=str(Path(tmp) / "var"), HUDOOR_AUDIT_KEY=AUDIT_KEY)
            subprocess.run([HUDOOR, "audit", "anchor"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            floor = _floor(url, Path(tmp))
            print(f"floor: pg_dump + fresh cluster + pg_restore --jobs 2: {floor:.1f} s", flush=True)
            start = time.monotonic()
            done = subprocess.run([HUDOOR, "drill", "restore", "--json", "--sample",
                                   str(args.sample), "--workdir", tmp], env=env,
                                  capture_output=True, text=True)
            wall = time.monotonic() - start
            if done.returncode:
                raise SystemExit(f"drill failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
            report = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            redis_server.stop()
            pg.stop()
    for check in report["checks"]:
        print(f"  {'ok' if check['ok'] else 'FAILED'} {check['name']}: {check['detail']}")
    ratio = wall / floor
    print(f"hudoor drill restore: backup {report['backup_seconds']:.1f} s "
          f"({report['backup_bytes'] / 2**20:.0f} MiB), restore {report['restore_seconds']:.1f} s, "
          f"verify {report['verify_seconds']:.1f} s; whole drill {wall:.1f} s")
    print(f"RTO {report['rto_seconds']:.1f} s (target <= {TARGET_RTO_S:.0f} s)  "
          f"[{'OK' if report['rto_seconds'] <= TARGET_RTO_S else 'OVER'}]")
    print(f"drill / floor: {ratio:.2f}x (target <= {TARGET_RATIO:.1f}x)  "
          f"[{'OK' if ratio <= TARGET_RATIO else 'OVER'}]")
    print(f"RPO of this drill {report['rpo_seconds']:.1f} s (backup age when the copy was ready)")


if __name__ == "__main__":
    main()
