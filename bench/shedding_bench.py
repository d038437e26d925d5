"""Benchmark capture first (R2): USSD p99 during a spike while an SMS backlog is sending.

Builds the spike's world (bench/spike_world.py: durable PostgreSQL, Redis, the sandbox SIS,
a synced district with bound teacher SIMs, warmed caches) plus the operator simulator and
an SMS backlog in the same database, and serves Hudoor on the server the capacity bench
keeps (bench/capacity_bench.py KEPT_SERVER; `--server` to choose). Then three runs of the spike's peak (wrk, one connection
per phone, whole teacher sessions):

1. **alone** — no SMS work: the floor for this machine;
2. **SMS, no shedding** — sender processes drain the backlog at high caps beside the
   spike, and the app never raises the pressure signal;
3. **SMS, shedding** — the same, with the app raising the signal (the default limits).

It prints server-side and client-side p99 and hops/s for each, the SMS sent per second
during the spike and in the seconds after it (catch-up), the server p99 of the spike's
first second apart from the rest, and how long after the spike began the signal tripped.
Targets: with shedding, server p99 ≤ 100 ms and ≤ 1.25× the alone run; SMS resumes after
the spike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.capacity_bench import KEPT_SERVER, KEPT_THREADS, KEPT_WORKERS  # noqa: E402
from bench.spike_world import BIN, World, stop, world, wrk  # noqa: E402
from bench.ussd_bench import ServerTimes, _pct  # noqa: E402
from core import capture_load  # noqa: E402
from core.config import Config  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from digests import outbox  # noqa: E402
from digests.outbox import Draft  # noqa: E402
from tests.support.servers import free_port, wait_http  # noqa: E402

DAY = date(2026, 11, 29)
CAPS = "vodafone=2000,orange=2000,etisalat=2000,we=2000"  # the senders, not the caps, are the limit
PREFIX = ("10", "11", "12", "15")
TARGET_P99_MS, TARGET_RATIO = 100.0, 1.25


def _sim_sent(url: str) -> int:
    with urllib.request.urlopen(url + "/stats", timeout=30) as answer:
        return int(json.loads(answer.read())["accepted"])


def _backlog(env: dict[str, str], n: int) -> None:
    rt = Runtime(Config.from_env(env))
    drafts = [Draft("daily_digest", DAY, f"+20{PREFIX[i % 4]}{i:08d}", "ar", f"حضور {i}")
              for i in range(n)]
    with rt.sessions() as s, s.begin():
        outbox.enqueue(s, drafts)
    rt.close()


def _serve(w: World, args: argparse.Namespace, env: dict[str, str],
           log: Path) -> tuple[str, subprocess.Popen[bytes] | None]:
    log.touch()
    url, proc = w.serve(args.server, args.workers, args.threads, env=env, access_log=log)
    if proc is None:
        raise SystemExit(f"{args.server} is not available here")
    return url, proc


class TripWatch:
    """When the capture-load signal first showed after a start: Redis read every 5 ms."""

    def __init__(self, redis_url: str) -> None:
        self._conn, self._done = redis.Redis.from_url(redis_url), threading.Event()
        self._conn.delete(capture_load.BUSY_KEY)  # the last run's hold, still in its TTL
        self.after_ms = float("nan")
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.005):
            if self._conn.exists(capture_load.BUSY_KEY):
                self.after_ms = (time.monotonic() - self._start) * 1000
                return

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.after_ms


def _run(label: str, app_url: str, access: ServerTimes, phones: Path, seconds: int, conns: int,
         sms_env: dict[str, str] | None, sim_url: str, senders: int,
         redis_url: str) -> dict[str, float]:
    procs = []
    if sms_env is not None:
        procs = [subprocess.Popen([str(BIN / "hudoor"), "digests", "send", "--until-idle"],
                                  env=sms_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(senders)]
        before, deadline = _sim_sent(sim_url), time.monotonic() + 180
        while _sim_sent(sim_url) == before and time.monotonic() < deadline:
            time.sleep(0.5)  # the spike starts once the senders are sending
        time.sleep(2)
    sent0 = _sim_sent(sim_url)
    access.since_last()
    watch = TripWatch(redis_url)
    r = wrk(app_url, conns, seconds, phones)
    tripped = watch.stop()
    logged = access.in_order()
    first = logged[:max(1, int(r["rate"]))]  # about the spike's first second, in log order
    rest, times = sorted(logged[len(first):]), sorted(logged)
    sent1 = _sim_sent(sim_url)
    time.sleep(seconds / 2)  # after the spike: does SMS catch up?
    sent2 = _sim_sent(sim_url)
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)
    r.update(server_p99=_pct(times, 99), server_p50=_pct(times, 50),
             first_p99=_pct(sorted(first), 99), rest_p99=_pct(rest, 99), tripped_ms=tripped,
             sms_during=(sent1 - sent0) / seconds, sms_after=(sent2 - sent1) / (seconds / 2))
    print(f"  {label:<20} {r['rate']:>8.0f} {r['server_p50']:>10.1f} {r['server_p99']:>10.1f} "
          f"{r['p99']:>10.1f} {r['sms_during']:>10.0f} {r['sms_after']:>10.0f} "
          f"{r['first_p99']:>10.1f} {r['rest_p99']:>10.1f} {tripped:>8.0f}", flush=True)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--schools", type=int, default=60)
    ap.add_argument("--seconds", type=int, default=12)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--server", default=KEPT_SERVER, choices=("gunicorn", "granian"))
    ap.add_argument("--workers", type=int, default=KEPT_WORKERS)
    ap.add_argument("--threads", type=int, default=KEPT_THREADS)
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--backlog", type=int, default=200_000)
    args = ap.parse_args()
    with world("shed", args.schools) as w:
        sim_port = free_port()
        w.spawn("simulator", "serve", "--port", str(sim_port), "--caps", CAPS, "--fail-share", "0",
                "--no-dlr")
        sim_url = f"http://127.0.0.1:{sim_port}"
        wait_http(sim_url + "/stats")
        env, phones, tmp = w.env, w.phones, w.tmp
        sms_env = {**env, "HUDOOR_SMS_PROVIDER": "africastalking", "HUDOOR_AT_BASE_URL": sim_url,
                   "HUDOOR_OPERATOR_CAPS": CAPS, "HUDOOR_QUIET_START_HOUR": "0",
                   "HUDOOR_QUIET_END_HOUR": "0", "HUDOOR_SMS_URGENT_SHARE": "0"}
        sms_env.pop("HUDOOR_FAKE_NOW")  # the outbox's rows are due now, by the wall clock
        _backlog(sms_env, args.backlog)
        off_log, on_log = tmp / "off.log", tmp / "on.log"
        never = {**env, "HUDOOR_SHED_HOPS_PER_SECOND": "0", "HUDOOR_SHED_SLOW_MS": "1e9"}
        off_url, off_proc = _serve(w, args, never, off_log)
        on_url, on_proc = _serve(w, args, env, on_log)
        off, on = ServerTimes(off_log), ServerTimes(on_log)
        for url in (off_url, on_url):  # warm the connections and the caches, as the spike bench does:
            wrk(url, args.conns, 2, phones)  # a cold alone run set a floor the others never saw
        print(f"shedding bench: {args.schools} schools, {len(phones.read_text().split())} phones, "
              f"{args.conns} connections x {args.seconds} s; {args.senders} senders on a "
              f"{args.backlog:,}-SMS backlog; {args.server} {args.workers} x {args.threads}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores", flush=True)
        print(f"  {'run':<20} {'hops/s':>8} {'server p50':>10} {'server p99':>10} "
              f"{'client p99':>10} {'SMS/s spike':>10} {'SMS/s after':>10} {'p99 1st s':>10} "
              f"{'p99 rest':>10} {'tripped':>8}   (ms)")
        alone = _run("alone", on_url, on, phones, args.seconds, args.conns,
                     None, sim_url, args.senders, w.redis_url)
        unshed = _run("SMS, no shedding", off_url, off, phones,
                      args.seconds, args.conns, sms_env, sim_url, args.senders, w.redis_url)
        shed = _run("SMS, shedding", on_url, on, phones, args.seconds,
                    args.conns, sms_env, sim_url, args.senders, w.redis_url)
        stop(off_proc)
        stop(on_proc)
    ratio = shed["server_p99"] / alone["server_p99"] if alone["server_p99"] else float("nan")
    print(f"  with shedding: server p99 {shed['server_p99']:.1f} ms (target <= {TARGET_P99_MS:.0f})"
          f" [{'OK' if shed['server_p99'] <= TARGET_P99_MS else 'OVER'}], "
          f"{ratio:.2f}x the alone run (target <= {TARGET_RATIO}) "
          f"[{'OK' if ratio <= TARGET_RATIO else 'OVER'}]; without: "
          f"{unshed['server_p99']:.1f} ms ({unshed['server_p99'] / alone['server_p99']:.2f}x)")
    print(f"  SMS during the spike {shed['sms_during']:.0f}/s with shedding vs "
          f"{unshed['sms_during']:.0f}/s without; after it {shed['sms_after']:.0f}/s (catch-up "
          f"[{'OK' if shed['sms_after'] > 0 else 'NONE'}])")


if __name__ == "__main__":
    main()
