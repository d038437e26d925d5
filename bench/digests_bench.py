"""Benchmark `hudoor digests daily` on PostgreSQL at the Phase 2 scale (800,000 students).

Starts its own throwaway PostgreSQL cluster (durable settings: fsync on) and Redis,
builds one school day in set-based statements (tests/support/school_day.py), then runs
`hudoor digests daily` as a child process and reports its wall time and peak RSS beside
the targets (60 s, 1 GiB), with a floor measured in the same run: a bare SELECT of the
same contact rows, in a child process of its own.
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

from core import migrate  # noqa: E402
from core.db import make_engine  # noqa: E402
from tests.support.school_day import build  # noqa: E402
from tests.support.servers import PostgresCluster, RedisServer  # noqa: E402

HUDOOR = str(Path(sys.executable).parent / "hudoor")
DAY = date(2026, 11, 29)  # a Sunday
TARGET_SECONDS, TARGET_MIB = 60.0, 1024.0
FLOOR = """
import sys, time
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1])
with engine.connect() as conn:
    start = time.monotonic()
    n = sum(1 for _ in conn.execution_options(yield_per=5000).execute(text(
        "SELECT msisdn, language, person_id FROM contacts WHERE kind = 'guardian' "
        "ORDER BY msisdn")))
print(n, time.monotonic() - start)
"""


def _child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a child; return (seconds, its own peak RSS in MiB, its last output line).

    Also prints the child's CPU seconds: on a shared machine wall time measures the load.
    """
    with tempfile.TemporaryFile("w+") as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"{cmd[:3]} failed with {proc.returncode}")
        out.seek(0)
        print(f"  ({cmd[1]} ...: {seconds:.1f} s wall, "
              f"{usage.ru_utime + usage.ru_stime:.1f} s CPU in the child)", flush=True)
        return seconds, usage.ru_maxrss / 1024, out.read().strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--students", type=int, default=800_000)
    args = ap.parse_args()
    print(f"digests bench: {args.students:,} students on PostgreSQL", flush=True)
    pg = PostgresCluster.start(fast=False)
    redis_server = RedisServer.start()
    try:
        url = pg.create_database("bench")
        migrate.upgrade(url)
        engine = make_engine(url)
        started = time.monotonic()
        guardians = build(engine, args.students, DAY)
        engine.dispose()
        print(f"built {args.students:,} students, {guardians:,} guardian SIMs in "
              f"{time.monotonic() - started:.1f} s", flush=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUDOOR_")}
        env.update(HUDOOR_DATABASE_URL=url, HUDOOR_REDIS_URL=redis_server.url,
                   HUDOOR_VAR_DIR=str(ROOT / "var" / "bench"))
        python = sys.executable
        floor_s, floor_mib, floor_out = _child([python, "-c", FLOOR, url], env)
        rows, select_s = floor_out.split()
        seconds, mib, out = _child([HUDOOR, "digests", "daily", "--day", DAY.isoformat()], env)
        report = json.loads(out)
        assert report["drafts"] == guardians, report
        print(f"floor: bare SELECT of {int(rows):,} contact rows {float(select_s):.1f} s "
              f"(process {floor_s:.1f} s, peak RSS {floor_mib:.0f} MiB)")
        print(f"hudoor digests daily: {report['drafts']:,} digests for {report['guardians']:,} "
              f"guardians in {seconds:.1f} s (target <= {TARGET_SECONDS:.0f} s), peak RSS "
              f"{mib:.0f} MiB (target <= {TARGET_MIB:.0f} MiB)  "
              f"[{'OK' if seconds <= TARGET_SECONDS and mib <= TARGET_MIB else 'OVER'}]")
    finally:
        redis_server.stop()
        pg.stop()


if __name__ == "__main__":
    main()
