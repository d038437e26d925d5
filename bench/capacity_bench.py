"""The morning spike, measured honestly (R3), and the figures docs/CAPACITY.md is built on.

Sets up as bench/ussd_bench.py does (durable PostgreSQL, Redis, the sandbox SIS, a synced
district, bound teacher SIMs, warmed caches), then:

1. fills Redis with 480,000 live USSD sessions (a mid-marking state and its resume key
   each, written by the real SessionStore format) and keeps them there for the whole run;
2. runs the spike's peak (wrk, one connection per phone, whole teacher sessions) three
   times against Hudoor under gunicorn and under granian, and three times against the
   honest bare hop (bench/bare_app.py) — medians reported, the floor measured in the
   same run;
3. runs the peak with 1 and with 2 gunicorn worker processes (scaling);
4. measures the work per hop at the peak: the app's CPU milliseconds (every server
   process, from /proc), PostgreSQL commits and rows written, Redis commands.

Targets (issue 12 R3): Hudoor ≥ 60 % of the bare hop in the same run; ≥ 1,000 hops/s at
p99 ≤ 100 ms with everything on this machine's two cores; 480,000 sessions within 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ussd_bench import BIN, SUNDAY_MORNING, _bind_teachers, _gunicorn, _wrk  # noqa: E402
from core import migrate  # noqa: E402
from core.drill.backup import libpq  # noqa: E402
from tests.support.servers import PostgresCluster, RedisServer, free_port, wait_http  # noqa: E402

LIVE_SESSIONS = 480_000
TARGET_SHARE, TARGET_RATE, TARGET_P99_MS, TARGET_MIB = 0.60, 1000.0, 100.0, 1024.0


def _tree(pid: int) -> list[int]:
    """Return a process and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def _cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def _fill_sessions(redis_url: str, n: int) -> tuple[float, float]:
    """Write n live sessions as SessionStore does; return (MiB used by them, seconds)."""
    import redis

    from ussd import keys
    from ussd.state import State
    from ussd.store import SessionStore

    conn = redis.Redis.from_url(redis_url)
    before = conn.info("memory")["used_memory"]
    state = State(step="att_review", class_id=123456, absent=(3, 7, 12, 15, 22), late=(5,),
                  fp="a1b2c3d4", hops=4, digest="9f8e7d6c")
    store = SessionStore(conn, 3600, 3600)  # an hour: they stay live for the whole run
    store.save("probe", "probe", state, resumable=True, finished=False)
    session_value = conn.get(keys.session("probe"))
    resume_value = conn.get(keys.resume("probe"))
    conn.delete(keys.session("probe"), keys.resume("probe"))
    started = time.monotonic()
    for start in range(0, n, 10_000):
        pipe = conn.pipeline(transaction=False)
        for i in range(start, min(n, start + 10_000)):
            pipe.set(keys.session(f"ATUid_live_{i:09d}"), session_value, ex=3600)
            pipe.set(keys.resume(f"{i:064x}"), resume_value, ex=3600)
        pipe.execute()
    seconds = time.monotonic() - started
    used = (conn.info("memory")["used_memory"] - before) / 2**20
    conn.close()
    return used, seconds


def _pg_counters(dsn: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT xact_commit, tup_inserted + tup_updated + tup_deleted FROM "
                           "pg_stat_database WHERE datname = current_database()").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _redis_commands(redis_url: str) -> int:
    import redis

    conn = redis.Redis.from_url(redis_url)
    try:
        return int(conn.info("stats")["total_commands_processed"])
    finally:
        conn.close()


def _granian(port: int, env: dict[str, str], workers: int, threads: int) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("granian", path=str(BIN)) or shutil.which("granian")
    if exe is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "granian"], check=False)
        exe = shutil.which("granian", path=str(BIN))
    if exe is None:
        return None
    return subprocess.Popen([exe, "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--blocking-threads", str(threads),
                             "--no-ws", "wsgi:app"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _peak(url: str, conns: int, seconds: int, phones: Path, runs: int) -> list[dict[str, float]]:
    _wrk(url, conns, 2, phones)  # warm the connections and the caches
    return [_wrk(url, conns, seconds, phones) for _ in range(runs)]


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--schools", type=int, default=150)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=LIVE_SESSIONS)
    args = ap.parse_args()
    pg, rds = PostgresCluster.start(fast=False), RedisServer.start()
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, object] = {}
    try:
        url = pg.create_database("capacity")
        migrate.upgrade(url)
        dsn = libpq(url)[0]
        sandbox_port = free_port()
        procs.append(subprocess.Popen(
            [str(BIN / "hudoor"), "sandbox", "serve", "--district", "national", "--port",
             str(sandbox_port), "--schools", str(args.schools), "--students", "400",
             "--teachers", "24"], stdout=subprocess.DEVNULL))
        wait_http(f"http://127.0.0.1:{sandbox_port}/v1/schools")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HUDOOR_")},
               "HUDOOR_DATABASE_URL": url, "HUDOOR_REDIS_URL": rds.url,
               "HUDOOR_UPSTREAM_URL": f"http://127.0.0.1:{sandbox_port}",
               "HUDOOR_USSD_CALLBACK_TOKEN": "bench", "HUDOOR_FAKE_NOW": SUNDAY_MORNING,
               "HUDOOR_SHED_HOPS_PER_SECOND": "0"}  # nothing else runs: nothing to shed
        subprocess.run([str(BIN / "hudoor"), "sync", "full"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        phones = Path(tempfile.mkstemp(prefix="hudoor-phones-")[1])
        phones.write_text("\n".join(_bind_teachers(url)) + "\n")
        subprocess.run([str(BIN / "hudoor"), "ussd-warm"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        from bench.bare_app import create_table

        create_table(dsn)
        mib, fill_s = _fill_sessions(rds.url, args.sessions)
        results["live_sessions"] = {"n": args.sessions, "mib": round(mib, 1), "fill_seconds": round(fill_s, 1)}
        print(f"capacity bench: {args.schools} schools, {len(phones.read_text().split())} phones; "
              f"{args.sessions:,} live sessions in Redis ({mib:,.0f} MiB); load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

        def serve(kind: str, workers: int) -> tuple[str, subprocess.Popen[bytes] | None]:
            port = free_port()
            if kind == "granian":
                proc = _granian(port, env, workers, args.threads)
            else:
                app = "bench.bare_app:app" if kind == "bare" else "wsgi:app"
                proc = _gunicorn(app, port, env, workers, args.threads)
            if proc is None:
                return "", None
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=180)
            return f"http://127.0.0.1:{port}", proc

        for kind in ("gunicorn", "granian", "bare"):
            base, proc = serve(kind, args.workers)
            if proc is None:
                print(f"  {kind}: not available here", flush=True)
                continue
            cpu0, (commits0, rows0), cmds0 = _cpu_seconds(proc.pid), _pg_counters(dsn), _redis_commands(rds.url)
            rows = _peak(base, args.conns, args.seconds, phones, args.runs)
            cpu1, (commits1, rows1), cmds1 = _cpu_seconds(proc.pid), _pg_counters(dsn), _redis_commands(rds.url)
            hops = sum(r["rate"] * args.seconds for r in rows) + 1e-9
            results[kind] = {
                "hops_per_s": [round(r["rate"]) for r in rows], "median_hops_per_s": _median(rows, "rate"),
                "p99_ms": [r["p99"] for r in rows], "median_p99_ms": _median(rows, "p99"),
                "errors": sum(r["errors"] for r in rows),
                "cpu_ms_per_hop": round((cpu1 - cpu0) * 1000 / hops, 3),
                "pg_commits_per_hop": round((commits1 - commits0) / hops, 3),
                "pg_rows_per_hop": round((rows1 - rows0) / hops, 3),
                "redis_commands_per_hop": round((cmds1 - cmds0) / hops, 2)}
            r = results[kind]
            print(f"  {kind:<9} hops/s {r['hops_per_s']} (median {r['median_hops_per_s']:,.0f}), "  # type: ignore[index]
                  f"client p99 {r['median_p99_ms']:.1f} ms, errors {r['errors']:.0f}; per hop: "  # type: ignore[index]
                  f"{r['cpu_ms_per_hop']} ms app CPU, {r['pg_commits_per_hop']} commits, "  # type: ignore[index]
                  f"{r['pg_rows_per_hop']} rows, {r['redis_commands_per_hop']} Redis commands", flush=True)  # type: ignore[index]
            proc.terminate()
            proc.wait(30)
        for workers in (1, 2):
            base, proc = serve("gunicorn", workers)
            assert proc is not None
            rows = _peak(base, args.conns, args.seconds, phones, 1)
            results[f"gunicorn_{workers}_process"] = {"hops_per_s": rows[0]["rate"], "p99_ms": rows[0]["p99"]}
            print(f"  gunicorn {workers} process(es) x {args.threads} threads: "
                  f"{rows[0]['rate']:,.0f} hops/s, client p99 {rows[0]['p99']:.1f} ms", flush=True)
            proc.terminate()
            proc.wait(30)
        import redis

        conn = redis.Redis.from_url(rds.url)
        results["redis_used_mib_end"] = round(conn.info("memory")["used_memory"] / 2**20, 1)
        results["live_sessions_still_there"] = sum(1 for _ in conn.scan_iter("hudoor:ussd:s:ATUid_live_*", count=10_000))
        conn.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        rds.stop()
        pg.stop()
    best = max((k for k in ("gunicorn", "granian") if k in results),
               key=lambda k: results[k]["median_hops_per_s"])  # type: ignore[index]
    hud, bare = results[best], results["bare"]
    share = hud["median_hops_per_s"] / bare["median_hops_per_s"]  # type: ignore[index]
    one, two = results["gunicorn_1_process"], results["gunicorn_2_process"]
    rows_out = [
        (f"Hudoor hops/s at peak, median of {args.runs} ({best})", f"{hud['median_hops_per_s']:,.0f}",  # type: ignore[index]
         f">= {TARGET_RATE:,.0f}", hud["median_hops_per_s"] >= TARGET_RATE),  # type: ignore[index]
        ("client p99 at peak, ms (median)", f"{hud['median_p99_ms']:.1f}", f"<= {TARGET_P99_MS:.0f}",  # type: ignore[index]
         hud["median_p99_ms"] <= TARGET_P99_MS),  # type: ignore[index]
        ("bare hop hops/s (floor, same run)", f"{bare['median_hops_per_s']:,.0f}", "(floor)", True),  # type: ignore[index]
        ("Hudoor / bare hop", f"{share:.0%}", f">= {TARGET_SHARE:.0%}", share >= TARGET_SHARE),
        ("1 -> 2 app processes", f"{two['hops_per_s'] / one['hops_per_s']:.2f}x", "(scaling)", True),  # type: ignore[index]
        (f"{args.sessions:,} live sessions in Redis, MiB", f"{results['live_sessions']['mib']:,.0f}",  # type: ignore[index]
         f"< {TARGET_MIB:,.0f}", results["live_sessions"]["mib"] < TARGET_MIB),  # type: ignore[index]
    ]
    width = max(len(r[0]) for r in rows_out)
    for name, value, target, ok in rows_out:
        print(f"  {name:<{width}}  {value:>8}   target {target:<10} {'ok' if ok else 'MISSED'}")
    print("  " + json.dumps(results))


if __name__ == "__main__":
    main()
