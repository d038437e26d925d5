"""Benchmark the SMS pipeline against the AT simulator: caps held, ceiling, composition.

1. Caps: four operators at 50/100/150/200 msg/s, `--runs` runs (default 5) with a CPU hog
   beside them (`stress-ng --cpu 1`) and the simulator adding a network-like path delay
   (5-80 ms, drifting, with occasional 300 ms stalls; simulator/latency.py). Hudoor's
   shaper (Redis) holds each operator at its cap; the simulator rejects anything over cap
   in any sliding second of arrival. Prints every run and the MINIMUM share per operator.
2. Ceiling (bench/sms_ceiling.py): caps lifted, the whole sending path as fast as it
   goes, in rounds alternating with Kannel 1.4.5 (Debian's packages, installed here when
   missing; bench/kannel_peer.py) pushing the same number of messages at the same
   concurrency into fakesmsc. Hudoor's operator stand-in is nginx answering from C
   (bench/nginx_standin.py, like for like with fakesmsc), the Python simulator, or both
   (`--standin`); prints each, the ratios, CPU a message for senders, gateways and
   stand-ins, the at-most-once check and the targets; `--profile DIR` adds a py-spy run.
3. Composition: daily digests composed in-process for a synthetic sample of guardians,
   extrapolated to 1.2 M; share of digests that fit one segment in Arabic and English.

Everything (Redis, simulator, nginx, Kannel, SQLite outbox) is started here and stopped at the end.
Every figure is printed beside the machine's load average: the machine may be shared.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import debian  # noqa: E402
from sandbox.names import FATHER, FEMALE_FIRST, MALE_FIRST  # noqa: E402
from digests.compose import compose  # noqa: E402
from digests.compose_types import Child, ChildStatus, GuardianDay  # noqa: E402
from core.gsm import Encoding, segment_count  # noqa: E402
from shaping.policy import OperatorCaps  # noqa: E402
from tests.support.servers import RedisServer  # noqa: E402
from bench.sms_world import DAY, Simulator, enqueue, load_text, run_senders, sender_env  # noqa: E402

CAPS = "we=50,etisalat=100,orange=150,vodafone=200"


class _Hog:
    """A CPU hog beside the bench (`stress-ng --cpu N`), as on a busy or slower machine."""

    def __init__(self, cpus: int) -> None:
        self._proc = None
        if cpus > 0:
            if debian.ensure("stress-ng", "stress-ng") is None:  # as make bench is run fresh
                raise SystemExit("--hog needs stress-ng, which could not be installed "
                                 "(apt-get install stress-ng)")
            self._proc = subprocess.Popen(["stress-ng", "--cpu", str(cpus), "--quiet"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)


def scaled_caps(scale: float) -> str:
    """Return CAPS with every cap multiplied by scale (at least 1 msg/s each)."""
    caps = OperatorCaps.parse(CAPS)
    return ",".join(f"{op.value}={max(1, round(cap * scale))}" for op, cap in caps.caps)


def caps_run(caps_text: str, seconds: float, threads: int, senders: int, guard_ms: int,
             path: list[str], schedule: str = "arrival") -> dict:
    """One caps run: every operator at its cap at once; return the simulator's stats.

    Adds the CPU seconds the simulator and the sender processes spent during the run
    (``sim_cpu``, ``sender_cpu``: process CPU, which load moves far less than wall time).
    """
    caps = OperatorCaps.parse(caps_text)
    with tempfile.TemporaryDirectory() as tmp, _redis() as redis_url:
        sim = Simulator(caps_text, path)
        try:
            env = sender_env(Path(tmp), redis_url, sim.url, caps_text, guard_ms, schedule)
            # Enough for `seconds` at every cap, plus a margin nobody reaches.
            enqueue(env, {op.value: int(cap * seconds * 1.5) + 10 for op, cap in caps.caps},
                     "caps")
            sim_cpu = sim.cpu_seconds()
            said: list[dict] = []
            wall, sender_cpu = run_senders(env, senders, ["--seconds", str(seconds), "--threads",
                                                       str(threads), "--pooled"], said=said)
            sim_cpu = sim.cpu_seconds() - sim_cpu
            stats = sim.stats()
        finally:
            sim.stop()
    guards = [s.get("guard_ms", {}) for s in said]
    stats.update(wall=wall, sim_cpu=sim_cpu, sender_cpu=sender_cpu,
                 given_back=sum(s.get("missed", 0) for s in said),
                 guard_ms={k: round(sum(g.get(k, 0.0) for g in guards) / max(1, len(guards)), 1)
                           for k in ("guard", "jitter", "path", "lead")})
    return stats


TARGET_SHARE = 0.98


def path_bound(stats: dict, seconds: float) -> float:
    """Return the share of a cap this run's path allowed a fixed-guard sender, rejection-free.

    An operator counts arrivals: when the path delay falls by F within a second, cap + 1
    messages sent over 1 s + F arrive within one second, so moments must be spaced over
    1 s + F (rate cap / (1 + F)); and a stall's burst must be paid for by a pause as long
    as the stall. Prints beside each run, so a miss can be told from a path that allowed
    no more. (A sender that knew the future could do better; none does.)
    """
    stalled = min(seconds, stats.get("stalled_s", 0.0))
    return (1 - stalled / seconds) / (1 + stats.get("path_fall_ms", 0.0) / 1000)


def arrival_bound(stats: dict, seconds: float) -> float:
    """Return the share of a cap a sender booking arrivals could reach on this run's path.

    Booking arrivals, a fall of the path's delay costs only the delay estimate's miss (a
    guard of some ms), not the fall; a stall still costs its own length: nothing passes
    while the path holds, and its burst takes the room after it. So ``1 - stalled / run``.
    """
    return 1 - min(seconds, stats.get("stalled_s", 0.0)) / seconds


def passable(share: float, stats: dict, seconds: float) -> float:
    """Return a share of cap as a share of the passable time: accepted / (cap x (run -
    stalled)). The stalls' own cost is the path's, not the shaper's."""
    return share / max(1e-9, arrival_bound(stats, seconds))


def bench_caps(seconds: float, threads: int, senders: int, guard_ms: int, runs: int,
               path: list[str], hog: int, scale: float = 1.0,
               schedule: str = "arrival") -> dict[str, float]:
    """Run the caps `runs` times; print each run and the minimum; return min share per op."""
    caps_text = scaled_caps(scale)
    caps = OperatorCaps.parse(caps_text)
    order = sorted(caps.caps, key=lambda kv: kv[1])
    print(f"\n1. caps held ({runs} x {seconds:.0f} s runs, caps {caps_text}"
          f"{f' (x{scale:g})' if scale != 1 else ''}; {senders} sender processes x "
          f"{threads} threads, keep-alive, guard floor {guard_ms} ms, moments booked as "
          f"{schedule}s; path {' '.join(path) or 'loopback'}; CPU hog: stress-ng --cpu {hog})")
    print("   per operator: share of cap / rejections / busiest 1-s window; lowest share of "
          "the passable time (run less stalled); bounds: a fixed-guard departure sender that "
          "knew the run's largest 1-s fall (dep.), an arrival sender (1 - stalled / run; arr.); "
          "CPU ms per accepted message: simulator, senders (start-up included)")
    print(f"{'run':>3} {'load':>16} " + " ".join(f"{op.value + f' ({cap})':>18}"
                                                for op, cap in order)
          + f" {'passable':>8} {'stalls':>6} {'fall ms':>7} {'dep.':>6} {'arr.':>6}"
          f" {'/arr.':>6} {'dups':>4} {'given back':>10} {'sim ms':>6} {'send ms':>7}")
    worst: dict[str, float] = {}
    widest: dict[str, int] = {}
    rejected: dict[str, int] = {op.value: 0 for op, _ in order}
    duplicates = 0
    bounds: list[float] = []
    per_run: list[int] = []  # rejections in each run (the target: 0 in every one)
    ratios: list[float] = []  # each run's lowest share over its path's bound
    passables: list[float] = []  # each run's lowest share of the passable time
    arrivals: list[float] = []  # each run's arrival-scheduling bound
    hogging = _Hog(hog)
    try:
        for run in range(1, runs + 1):
            load = load_text()
            # A seed per run: each run meets its own drift and its own stalls.
            stats = caps_run(caps_text, seconds, threads, senders, guard_ms,
                             path + ["--seed", str(run)], schedule)
            cells, shares = [], []
            for op, cap in order:
                per = stats["operators"].get(op.value, {})
                share = per.get("rate", 0.0) / cap
                shares.append(share)
                worst[op.value] = min(worst.get(op.value, 1e9), share)
                widest[op.value] = max(widest.get(op.value, 0), per.get("max_window", 0))
                rejected[op.value] += per.get("throttled", 0)
                cells.append(f"{share:7.1%} {per.get('throttled', 0):4d} "
                             f"{per.get('max_window', 0):5d}")
            duplicates += stats["duplicates"]
            accepted = max(1, stats["accepted"])
            bound = path_bound(stats, seconds)
            bounds.append(bound)
            arrivals.append(arrival_bound(stats, seconds))
            passables.append(passable(min(shares), stats, seconds))
            per_run.append(stats["throttled"])
            ratios.append(min(shares) / arrivals[-1])
            print(f"{run:3d} {load:>16} " + " ".join(f"{c:>18}" for c in cells)
                  + f" {passables[-1]:8.1%}"
                  f" {stats['stalls']:6d} {stats['path_fall_ms']:7.1f} {bound:6.1%}"
                  f" {arrivals[-1]:6.1%} {ratios[-1]:6.1%}"
                  f" {stats['duplicates']:4d} {stats['given_back']:10d}"
                  f" {stats['sim_cpu'] / accepted * 1e3:6.2f}"
                  f" {stats['sender_cpu'] / accepted * 1e3:7.2f}", flush=True)
            print(f"    mean over bookings (ms): guard {stats['guard_ms']['guard']}, of it the "
                  f"sender's jitter {stats['guard_ms']['jitter']} and the path "
                  f"{stats['guard_ms']['path']}; a moment left {stats['guard_ms']['lead']} "
                  f"before itself")
            late = {op: per["throttled_at"] for op, per in stats["operators"].items()
                    if per["throttled_at"]}
            if late:
                print(f"    rejections at (s after the operator's first accept): {late}")
    finally:
        hogging.stop()
    print(f"{'operator':10} {'cap':>5} {'min share':>10} {'target':>7} {'rejections':>10} "
          f"{'target':>6} {'busiest 1-s window':>18} {'':>4}")
    for op, cap in order:
        ok = worst[op.value] >= TARGET_SHARE and rejected[op.value] == 0
        print(f"{op.value:10} {cap:5d} {worst[op.value]:10.1%} {TARGET_SHARE:>7.0%} "
              f"{rejected[op.value]:10d} {0:>6d} {widest[op.value]:18d} "
              f"{'met' if ok else 'MISS':>4}")
    print(f"bounds: a departure sender with a fixed guard that knew the run's largest 1-s "
          f"fall of the path delay, less the stalled time: lowest {min(bounds):.1%}; an "
          f"arrival sender (1 - stalled / run): {min(arrivals):.1%} to {max(arrivals):.1%}")
    print(f"share of the passable time (accepted / (cap x (run - stalled))), lowest operator "
          f"per run: {', '.join(f'{p:.1%}' for p in passables)} (target "
          f"{TARGET_SHARE:.0%}: {'met' if min(passables) >= TARGET_SHARE else 'MISS'})")
    print(f"rejections per run: {per_run} (target 0 in each run: "
          f"{'met' if not any(per_run) else 'MISS'}); a run's lowest share over its "
          f"arrival bound (/arr.): {min(ratios):.1%} to {max(ratios):.1%}")
    print(f"minimum over {runs} runs: {min(worst.values()):.1%} of a cap; throttling "
          f"rejections in all runs: {sum(rejected.values())}; duplicates: {duplicates} "
          f"({load_text()})")
    return worst


def _district(n: int, english_share: float, seed: int) -> list[GuardianDay]:
    rng = random.Random(seed)
    sizes = [1] * 55 + [2] * 30 + [3] * 12 + [4] * 3  # children per guardian
    statuses = [ChildStatus.PRESENT] * 90 + [ChildStatus.ABSENT] * 7 + [ChildStatus.LATE] * 3
    out = []
    for g in range(n):
        father = rng.choice(FATHER)
        kids = tuple(Child(g * 10 + k, f"{rng.choice(MALE_FIRST + FEMALE_FIRST)} {father}",
                           rng.choice(statuses)) for k in range(rng.choice(sizes)))
        lang = "en" if rng.random() < english_share else "ar"
        out.append(GuardianDay(f"+2010{g:08d}", lang, DAY, kids))
    return out


def bench_compose(sample: int) -> None:
    guardians = _district(sample, 0.1, seed=5)
    start = time.perf_counter()
    drafts = [compose(g) for g in guardians]
    seconds = time.perf_counter() - start
    rate = sample / seconds
    print(f"3. composition: {sample:,} guardians in {seconds:.2f} s = {rate:,.0f} guardians/s;"
          f" 1.2 M guardians would take {1_200_000 / rate:.0f} s (extrapolated, one core)")
    for lang in ("ar", "en"):
        texts = [d.text for d in drafts if d is not None and d.language == lang]
        infos = [segment_count(t) for t in texts]
        one = sum(1 for i in infos if i.segments == 1) / len(infos)
        gsm = sum(1 for i in infos if i.encoding is Encoding.GSM7) / len(infos)
        print(f"   {lang}: {len(texts):,} digests, {one:.1%} one segment, {gsm:.1%} GSM-7")


class _redis:
    def __enter__(self) -> str:
        self._server = RedisServer.start()
        return self._server.url

    def __exit__(self, *exc: object) -> None:
        self._server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=30.0, help="length of the caps run")
    ap.add_argument("--ceiling", type=int, default=20000, help="messages for the ceiling runs")
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--senders", type=int, default=2, help="sender processes")
    ap.add_argument("--guard-ms", type=int, default=10, help="HUDOOR_SHAPER_GUARD_MS")
    ap.add_argument("--rounds", type=int, default=2, help="alternating Hudoor/Kannel rounds")
    ap.add_argument("--in-flight", type=int, default=64, help="Kannel's sendsms requests open")
    ap.add_argument("--shipped", action="store_true",
                    help="also run the SDK as shipped (a new connection per message)")
    ap.add_argument("--runs", type=int, default=5, help="caps runs (the minimum is reported)")
    ap.add_argument("--latency-ms", default="5,80",
                    help="simulated path delay LOW,HIGH to the operators ('' for loopback)")
    ap.add_argument("--latency-mode", choices=["path", "iid"], default="path")
    ap.add_argument("--stall-ms", type=int, default=300)
    ap.add_argument("--stall-every", type=float, default=15.0, help="mean seconds between stalls")
    ap.add_argument("--hog", type=int, default=1, help="stress-ng --cpu N beside the caps runs")
    ap.add_argument("--cap-scale", type=float, default=1.0,
                    help="multiply every cap (0.1: 5/10/15/20 msg/s, shaping apart from CPU)")
    ap.add_argument("--schedule", choices=["arrival", "departure"], default="arrival",
                    help="HUDOOR_SHAPER_SCHEDULE for the caps runs (departure: the earlier rule)")
    ap.add_argument("--only", choices=["caps", "ceiling", "compose"], default=None)
    ap.add_argument("--profile", type=Path, default=None,
                    help="after the ceiling rounds, one more Hudoor run under py-spy; "
                         "samples (collapsed stacks) written to this folder")
    ap.add_argument("--sample", type=int, default=200_000, help="guardians composed")
    ap.add_argument("--standin", choices=["nginx", "simulator", "both"], default="both",
                    help="Hudoor's operator stand-in in the ceiling rounds: nginx (C, like "
                         "Kannel's fakesmsc), the Python simulator, or both each round")
    args = ap.parse_args()
    # Stopped from outside: unwind, so the hog, Redis, the stand-ins and Kannel stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.only in (None, "caps"):
        path = []
        if args.latency_ms:
            path += ["--latency-ms", args.latency_ms, "--latency-mode", args.latency_mode]
        if args.stall_ms:
            path += ["--stall-ms", str(args.stall_ms), "--stall-every", str(args.stall_every)]
        bench_caps(args.seconds, args.threads, args.senders, args.guard_ms, args.runs, path,
                   args.hog, args.cap_scale, args.schedule)
    if args.only in (None, "ceiling"):
        from bench.sms_ceiling import bench_ceiling

        bench_ceiling(args.ceiling, args.threads, args.senders, args.rounds, args.in_flight,
                      args.shipped, args.profile, args.standin)
    if args.only in (None, "compose"):
        bench_compose(args.sample)


if __name__ == "__main__":
    main()
