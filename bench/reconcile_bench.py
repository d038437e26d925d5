"""Benchmark nightly reconciliation: 1,000 schools × 1 school day on PostgreSQL.

Builds a national school day straight in SQL (1,000 schools, ~18,300 class-days, 800,000
students in classes of 38-50, ~9 % absent or late), fills the sandbox SIS's store with the
same records except 1 % of class-days missing and 0.5 % silently corrupted, then times
`hudoor reconcile --day D --json` as a child process (wall time, peak RSS) against the
targets: ≤ 5 minutes, ≤ 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select, text  # noqa: E402

from core import migrate  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.models import School, SchoolClass  # noqa: E402
from sandbox.attendance_store import corrupted  # noqa: E402
from sandbox.district import District  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from core.writeback import snapshot  # noqa: E402
from tests.support.servers import PostgresCluster, RedisServer  # noqa: E402

HUDOOR = str(Path(sys.executable).parent / "hudoor")
DAY = date(2026, 11, 30)


CLASS_RANKS = """
            WITH cl AS (SELECT c.id, c.school_id,
                               row_number() OVER (PARTITION BY c.school_id ORDER BY c.id) - 1 AS k,
                               count(*) OVER (PARTITION BY c.school_id) AS classes
                        FROM classes c)"""


def build_day(url: str, district: District, students: int) -> None:
    """Insert schools, classes, students, one record per class and ~10 % marks, in SQL."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(School), [{"upstream_id": i.id, "name": i.id, "governorate": "x"}
                                      for i in district.infos])
        ids = dict(conn.execute(select(School.upstream_id, School.id)).all())
        conn.execute(insert(SchoolClass), [
            {"upstream_id": c["id"], "school_id": ids[i.id], "name": c["name"], "grade": c["grade"]}
            for i in district.infos for c in district.classes(i.id)])
        # Students: `students` per school, spread over its classes; one teacher per school.
        conn.execute(text("""
            INSERT INTO people (upstream_id, school_id, role, display_name, name_key, status,
                                active, created_at, updated_at)
            SELECT 'STU-' || s.id || '-' || g, s.id, 'student', 'x', 'x', 'active', true, now(), now()
            FROM schools s, generate_series(1, :n) g"""), {"n": students})
        conn.execute(text("""
            INSERT INTO people (upstream_id, school_id, role, display_name, name_key, status,
                                active, created_at, updated_at)
            SELECT 'STF-' || s.id, s.id, 'teacher', 'x', 'x', 'active', true, now(), now()
            FROM schools s"""))
        # Students g = 1..n of a school sit in its classes in turn (class k holds every g with
        # (g - 1) mod classes = k), so a class holds n / classes students, 38-50 for 800 over
        # 16-21 classes, as real ones (30-60) do. Every tenth member of a class is absent or
        # late. Ranks within the school, never raw row ids: those interleave across schools.
        conn.execute(text(CLASS_RANKS + """
            INSERT INTO attendance_records (class_id, day, taken_by, class_size, confirmed_at,
                                            session_id, msisdn, revision)
            SELECT cl.id, :day, p.id, (:n - 1 - cl.k) / cl.classes + 1, now(), 'bench', '+20',
                   1 + (cl.id % 2)
            FROM cl JOIN people p ON p.upstream_id = 'STF-' || cl.school_id"""),
                     {"day": DAY, "n": students})
        conn.execute(text(CLASS_RANKS + """,
            st AS (SELECT p.id, p.school_id,
                          row_number() OVER (PARTITION BY p.school_id ORDER BY p.id) AS g
                   FROM people p WHERE p.role = 'student')
            INSERT INTO attendance_marks (record_id, person_id, status, captured_at, session_id,
                                          marked_by)
            SELECT r.id, st.id,
                   CASE WHEN st.g % 3 = 0 THEN 'late' ELSE 'absent' END, now(), 'b', r.taken_by
            FROM st
            JOIN cl ON cl.school_id = st.school_id AND (st.g - 1) % cl.classes = cl.k
            JOIN attendance_records r ON r.class_id = cl.id
            WHERE ((st.g - 1) / cl.classes) % 10 = 9"""))
        biggest = conn.execute(text("SELECT max(n) FROM (SELECT count(*) AS n FROM attendance_marks"
                                    " GROUP BY record_id) m")).scalar()
        widest = conn.execute(text("SELECT max(class_size) FROM attendance_records")).scalar()
        print(f"  largest class {widest} students, most marks in one class-day {biggest}",
              flush=True)
        assert biggest <= 500, biggest  # contract v2 refuses a class-day of more than 500 marks
    engine.dispose()


def fill_upstream(url: str, sandbox: SandboxServer, rng: random.Random) -> dict[str, int]:
    """Give the sandbox what Hudoor holds, minus 1 % of class-days, 0.5 % corrupted."""
    sessions = make_sessionmaker(make_engine(url))
    counts = {"held": 0, "missing": 0, "corrupted": 0}
    with sessions() as s:
        for sid, up in s.execute(select(School.id, School.upstream_id)).all():
            for cd in snapshot.school_day(s, sid, DAY):
                roll = rng.random()
                if roll < 0.01:
                    counts["missing"] += 1
                    continue
                sandbox.attendance.apply(up, DAY.isoformat(), corrupted(cd) if roll < 0.015 else cd)
                counts["corrupted" if roll < 0.015 else "held"] += 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--schools", type=int, default=1000)
    ap.add_argument("--students", type=int, default=800)
    args = ap.parse_args()
    print(f"reconcile bench: {args.schools} schools × 1 day, {args.students} students each",
          flush=True)
    pg = PostgresCluster.start(fast=False)
    redis_server = RedisServer.start()
    district = District(seed=1, schools=args.schools, students_per_school=args.students,
                        teachers_per_school=20)
    try:
        url = pg.create_database("bench")
        migrate.upgrade(url)
        start = time.monotonic()
        build_day(url, district, args.students)
        with SandboxServer(district) as sandbox:
            counts = fill_upstream(url, sandbox, random.Random(5))
            print(f"  built in {time.monotonic() - start:.0f}s; upstream {json.dumps(counts)}",
                  flush=True)
            env = {**os.environ, "HUDOOR_DATABASE_URL": url, "HUDOOR_REDIS_URL": redis_server.url,
                   "HUDOOR_UPSTREAM_URL": sandbox.url}
            t0 = time.monotonic()
            out = subprocess.run([HUDOOR, "reconcile", "--day", DAY.isoformat(), "--json"],
                                 env=env, capture_output=True, text=True)
            seconds = time.monotonic() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        redis_server.stop()
        pg.stop()
    reports = json.loads(out.stdout.strip().splitlines()[-1])
    outcomes = {o: sum(1 for r in reports if r["outcome"] == o)
                for o in ("agreed", "repaired", "differing")}
    rows = [("school-days reconciled", f"{len(reports):,}", f"= {args.schools:,}",
             len(reports) == args.schools),
            ("wall seconds", f"{seconds:.1f}", "<= 300", seconds <= 300),
            ("peak RSS of reconcile process, MiB", f"{peak:.0f}", "<= 1024", peak <= 1024),
            ("still differing", str(outcomes["differing"]), "= 0", outcomes["differing"] == 0)]
    width = max(len(r[0]) for r in rows)
    for name, value, target, ok in rows:
        print(f"  {name:<{width}}  {value:>10}   target {target:<10} {'ok' if ok else 'MISSED'}")
    print("  outcomes:", json.dumps(outcomes))
    for r in reports:
        if r["outcome"] == "differing":
            print("  still differing:", r["school"], "; ".join(r["reasons"])[:300])


if __name__ == "__main__":
    main()
