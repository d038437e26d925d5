"""Benchmark roster sync on PostgreSQL: full national sync, a 10,000-change delta, memory.

Starts its own throwaway PostgreSQL cluster (durable settings: fsync on) and the sandbox
SIS in a separate process serving the national district (1,000 schools, 800,000
students, 20,000 staff), then runs `hudoor sync full` and `hudoor sync delta` as child
processes and reports wall time and the child's peak RSS beside the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import migrate  # noqa: E402
from tests.support.servers import PostgresCluster, RedisServer, free_port, wait_http  # noqa: E402

HUDOOR = str(Path(sys.executable).parent / "hudoor")


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, dict]:
    """Run a child; return (seconds, its peak RSS in MiB, its JSON report)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    seconds = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far; the sync children are the biggest.
    return seconds, max(peak, before) / 1024, json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--schools", type=int, default=1000)
    ap.add_argument("--students", type=int, default=800)
    ap.add_argument("--teachers", type=int, default=20)
    ap.add_argument("--changes", type=int, default=10_000)
    args = ap.parse_args()
    people = args.schools * (args.students + args.teachers)
    print(f"sync bench: {args.schools} schools, {people:,} people, delta of {args.changes:,}",
          flush=True)
    pg = PostgresCluster.start(fast=False)
    redis_server = RedisServer.start()
    port = free_port()
    sandbox = subprocess.Popen(
        [HUDOOR, "sandbox", "serve", "--district", "national", "--port", str(port),
         "--schools", str(args.schools), "--students", str(args.students),
         "--teachers", str(args.teachers)], stdout=subprocess.DEVNULL)
    try:
        url = pg.create_database("bench")
        migrate.upgrade(url)
        wait_http(f"http://127.0.0.1:{port}/v1/schools")
        env = {**os.environ, "HUDOOR_DATABASE_URL": url, "HUDOOR_REDIS_URL": redis_server.url,
               "HUDOOR_UPSTREAM_URL": f"http://127.0.0.1:{port}", "HUDOOR_UPSTREAM_PAGE_SIZE": "2000"}
        full_s, full_mb, full = _timed([HUDOOR, "sync", "full", "--json"], env)
        again_s, _, again = _timed([HUDOOR, "sync", "full", "--json"], env)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/sandbox/changes", method="POST",
            data=json.dumps({"op": "random", "n": args.changes, "seed": 42}).encode(),
            headers={"Content-Type": "application/json"})
        began = time.perf_counter()  # the sandbox generating the changes (was a test's timing)
        urllib.request.urlopen(req, timeout=120).read()
        changes_s = time.perf_counter() - began
        delta_s, delta_mb, delta = _timed([HUDOOR, "sync", "delta", "--json"], env)
    finally:
        sandbox.terminate()
        sandbox.wait(10)
        redis_server.stop()
        pg.stop()
    c = full["counts"]
    rows = [
        ("full sync, wall seconds", f"{full_s:.1f}", "<= 120", full_s <= 120),
        ("full sync, people/s", f"{people / full_s:,.0f}", ">= 6,834", people / full_s >= 6834),
        ("full sync, added", f"{c['added']:,}", f"= {people:,}", c["added"] == people),
        ("second full sync (no-op), seconds", f"{again_s:.1f}", "(no target)", True),
        ("second full sync, changes", str(sum(v for k, v in again["counts"].items()
                                               if k not in ("seen", "unchanged", "duplicates_in_feed",
                                                            "dropped_fields"))), "= 0",
         again["counts"]["added"] == 0 and again["counts"]["changed"] == 0),
        (f"sandbox: {args.changes:,} random changes made, seconds", f"{changes_s:.1f}", "<= 3",
         changes_s <= 3),
        (f"delta of {args.changes:,} changes, seconds", f"{delta_s:.1f}", "<= 5", delta_s <= 5),
        ("delta changes applied (seen)", f"{delta['counts']['seen']:,}", f"= {args.changes:,}",
         delta["counts"]["seen"] == args.changes),
        ("peak RSS of sync process, MiB", f"{max(full_mb, delta_mb):.0f}", "<= 1024",
         max(full_mb, delta_mb) <= 1024),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, target, ok in rows:
        print(f"  {name:<{width}}  {value:>10}   target {target:<10} {'ok' if ok else 'MISSED'}")
    print("  full sync counts:", json.dumps(c))
    print("  delta counts:", json.dumps(delta["counts"]))


if __name__ == "__main__":
    main()
