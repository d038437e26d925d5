"""Benchmark the USSD callback under a morning-spike load of complete teacher sessions.

Builds the spike's world (bench/spike_world.py: durable PostgreSQL, Redis, the sandbox SIS,
a synced district, every teacher's SIM bound, the hop caches warmed as the scheduler does
before the first bell), then serves the app with gunicorn and drives it with wrk:
one connection per phone, each running whole sessions (dial, attendance, class, two
absentees, confirm — or late arrivals when the class is already taken). The load ramps
up, holds at the peak, and decays. The same peak is then run against the honest bare hop
(bench/bare_app.py: a pipelined Redis GET + SET of a 470-byte session per hop, one durable
commit of a class's marks per session) on the same gunicorn setup, as the floor. Finally it measures Redis bytes per
live session.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.spike_world import BARE_APP, stop, world, wrk  # noqa: E402

SPIKE = [2, 4, 8, 16, 24, 32, 32, 32, 24, 16, 8, 4]  # connections per phase: ramp, hold, decay


class ServerTimes:
    """Read request durations (ms) the server logged since the last read: server-side latency
    (gunicorn logs whole milliseconds, granian hundredths)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def since_last(self) -> list[float]:
        """The durations since the last read, sorted."""
        return sorted(self.in_order())

    def in_order(self) -> list[float]:
        """The durations since the last read, in the order the server logged them."""
        with self.path.open() as fh:
            fh.seek(self.offset)
            data = fh.read()
            self.offset = fh.tell()
        return [float(x) for x in data.split() if x.replace(".", "", 1).isdigit()]


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def _session_bytes(redis_url: str) -> float:
    """Return Redis memory per live session, from 20,000 mid-marking sessions."""
    import redis

    from ussd.state import State
    from ussd.store import SessionStore

    conn = redis.Redis.from_url(redis_url)
    conn.flushall()
    before = conn.info("memory")["used_memory"]
    store = SessionStore(conn, 600, 900)
    state = State(step="att_review", class_id=123456, absent=(3, 7, 12, 15, 22), late=(5,),
                  fp="a1b2c3d4", hops=4, digest="9f8e7d6c")
    for i in range(20_000):
        store.save(f"ATUid_{i:012d}", f"+2010{i:08d}", state, resumable=True, finished=False)
    used = conn.info("memory")["used_memory"] - before
    return used / 20_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--schools", type=int, default=150)
    ap.add_argument("--phase-seconds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    procs = []
    with world("ussd", args.schools) as w:
        phones = w.phones
        access = Path(tempfile.mkstemp(prefix="hudoor-access-")[1])
        server_times = ServerTimes(access)
        app_url, app = w.serve("gunicorn", args.workers, args.threads, access_log=access)
        bare_url, bare_proc = w.serve("gunicorn", args.workers, args.threads, app=BARE_APP)
        procs += [app, bare_proc]
        time.sleep(1)
        print(f"ussd bench: {args.schools} schools, {len(phones.read_text().split())} teachers with a bound SIM; "
              f"gunicorn {args.workers} workers x {args.threads} threads (gthread); wrk one connection per phone",
              flush=True)
        print(f"  {'phase':>5} {'phones':>6} {'hops/s':>8} {'client p50':>10} {'client p99':>10} "
              f"{'server p50':>10} {'server p99':>10} {'sessions':>8} {'non-2xx':>7}   (ms)")
        phases = []
        server_times.since_last()
        for i, conns in enumerate(SPIKE):
            r = wrk(app_url, conns, args.phase_seconds, phones)
            times = server_times.since_last()
            r["server_p50"], r["server_p99"] = _pct(times, 50), _pct(times, 99)
            phases.append((conns, r))
            print(f"  {i + 1:>5} {conns:>6} {r['rate']:>8.0f} {r['p50']:>10.1f} {r['p99']:>10.1f} "
                  f"{r['server_p50']:>10.1f} {r['server_p99']:>10.1f} {r['sessions']:>8.0f} "
                  f"{r['errors']:>7.0f}", flush=True)
        peak_conns = max(SPIKE)
        peak = [r for c, r in phases if c == peak_conns]
        peak_rate = sum(r["rate"] for r in peak) / len(peak)
        peak_p99 = max(r["p99"] for r in peak)
        peak_server_p99 = max(r["server_p99"] for r in peak)
        bare = wrk(bare_url, peak_conns, args.phase_seconds * 2, phones)
        per_session = _session_bytes(w.redis_url)
        for p in procs:
            stop(p)
    share = peak_rate / bare["rate"] if bare["rate"] else 0
    rows = [
        ("hops/s at peak (mean of hold phases)", f"{peak_rate:,.0f}", ">= 1,000", peak_rate >= 1000),
        ("p99 latency at peak, ms (server-side)", f"{peak_server_p99:.1f}", "<= 100",
         peak_server_p99 <= 100),
        ("p99 latency at peak, ms (client-side, wrk)", f"{peak_p99:.1f}", "(queueing incl.)", True),
        ("bare hop (Redis GET+SET, durable commit per session), hops/s", f"{bare['rate']:,.0f}",
         "(floor)", True),
        ("Hudoor / bare hop", f"{share:.0%}", ">= 60%", share >= 0.6),
        ("Redis bytes per live session", f"{per_session:,.0f}", "<= 512 state", per_session < 2048),
        ("480,000 live sessions in Redis, MiB", f"{per_session * 480_000 / 2**20:,.0f}", "< 1,024",
         per_session * 480_000 < 2**30),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, target, ok in rows:
        print(f"  {name:<{width}}  {value:>8}   target {target:<12} {'ok' if ok else 'MISSED'}")
    print("  " + json.dumps({"phases": [(c, r) for c, r in phases], "bare": bare}))


if __name__ == "__main__":
    main()
