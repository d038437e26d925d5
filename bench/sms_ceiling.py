"""The SMS ceiling beside Kannel 1.4.5 (bench/sms_bench.py --only ceiling, issue 16).

Caps lifted, the whole sending path (outbox claim → the SDK's request from the sender's
event loop → operator stand-in → record) as fast as it goes, in rounds alternating with
Kannel (bearerbox + smsbox → fakesmsc; bench/kannel_peer.py) pushing the same number of
messages at the same concurrency. Hudoor's stand-in for Africa's Talking is nginx answering
from C (bench/nginx_standin.py: as cheap as fakesmsc, so the pair is like for like), the
Python simulator (what earlier figures used), or both in each round (`--standin`).

A message counts as sent when the outbox marks it sent; each run checks at-most-once:
the requests the stand-in answered equal the messages the outbox marks sent, with
distinct message ids. CPU a message is printed for the senders (every process from exec
to exit), for Kannel's bearerbox + smsbox, and for each stand-in (nginx's processes,
the simulator's, fakesmsc's), all from /proc, and Redis's CPU and commands (INFO): on a
shared machine those are the figures that count, and the rates are for a quiet run.
"""

from __future__ import annotations

import compileall
import tempfile
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import func, select

from bench.kannel_peer import KannelRun, run_kannel
from bench.nginx_standin import NginxStandIn, StandInMissing, ensure_installed
from bench.sms_world import PREFIX, Simulator, enqueue, load_text, run_senders, sender_env
from core.config import Config
from core.runtime import Runtime
from digests.models import OutboxMessage, OutboxState
from tests.support.servers import RedisServer, free_port

LIFTED = "vodafone=100000,orange=100000,etisalat=100000,we=100000"
STANDINS = {"both": ("nginx", "simulator"), "nginx": ("nginx",), "simulator": ("simulator",)}
TARGET_CPU = 0.0005  # seconds of sender CPU a message, start-up included
TARGET_RATIO = 0.5  # of Kannel's msg/s, like for like


@dataclass(frozen=True)
class Answered:
    """What a stand-in says it answered during one run."""

    accepted: int
    distinct_ids: int  # message ids given (nginx: from its log; the simulator: accepted - dups)
    steady: float  # its own first-to-last rate


class SimulatorStandIn:
    """`hudoor simulator serve` (Python, aiohttp) as the stand-in, caps lifted."""

    name = "simulator"

    def __init__(self) -> None:
        self._sim = Simulator("none")
        self.url = self._sim.url

    def cpu_seconds(self) -> float:
        return self._sim.cpu_seconds()

    def stop(self) -> Answered:
        try:
            stats = self._sim.stats()
        finally:
            self._sim.stop()
        return Answered(stats["accepted"], stats["accepted"] - stats["duplicates"],
                        sum(per["rate"] for per in stats["operators"].values()))


class _NginxStandIn:
    name = "nginx"

    def __init__(self) -> None:
        self._nginx = NginxStandIn(free_port())
        self.url = self._nginx.url

    def cpu_seconds(self) -> float:
        return self._nginx.cpu_seconds()

    def stop(self) -> Answered:
        log = self._nginx.stop()
        return Answered(log.accepted, log.distinct_ids, log.steady)


def _outbox(env: dict[str, str]) -> dict[str, int]:
    """Messages per outbox state, and the distinct provider ids among the sent."""
    rt = Runtime(Config.from_env(env))
    try:
        with rt.sessions() as s:
            counts = dict(s.execute(select(OutboxMessage.state, func.count())
                                    .group_by(OutboxMessage.state)).all())
            counts["ids"] = s.scalar(select(func.count(OutboxMessage.provider_message_id
                                                       .distinct()))
                                     .where(OutboxMessage.state == OutboxState.SENT.value))
    finally:
        rt.close()
    return counts


def _redis_counters(client: redis.Redis) -> tuple[float, int]:
    """Redis's own CPU seconds (user + system) and commands processed so far.

    Between two readings on one connection, two of the commands counted are the
    readings' own INFO (the first's second and the second's first).
    """
    cpu, stats = client.info("cpu"), client.info("stats")
    return (float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
            int(stats["total_commands_processed"]))


def ceiling_run(total: int, threads: int, senders: int, pooled: bool, standin: str = "simulator",
                profile: Path | None = None) -> dict:
    """Hudoor's whole sending path with caps lifted, to one stand-in; return what it took."""
    server = RedisServer.start()
    client = redis.Redis.from_url(server.url)
    try:
        return _ceiling_run(server.url, client, total, threads, senders, pooled, standin,
                            profile)
    finally:
        client.close()
        server.stop()


def _ceiling_run(redis_url: str, client: redis.Redis, total: int, threads: int, senders: int,
                 pooled: bool, standin: str, profile: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        peer = _NginxStandIn() if standin == "nginx" else SimulatorStandIn()
        try:
            env = sender_env(Path(tmp), redis_url, peer.url, LIFTED)
            enqueue(env, {op: total // 4 for op in PREFIX}, "ceiling")
            args = ["--until-idle", "--seconds", "170", "--threads", str(threads),
                    "--batch", "500"] + (["--pooled"] if pooled else ["--sdk-transport"])
            peer_cpu, (redis_cpu, commands) = peer.cpu_seconds(), _redis_counters(client)
            wall, cpu = run_senders(env, senders, args, profile)
            peer_cpu = peer.cpu_seconds() - peer_cpu
            redis_after = _redis_counters(client)
            redis_cpu, commands = redis_after[0] - redis_cpu, redis_after[1] - commands - 2
            # A sender that starts, finds nothing due and stops: its start-up CPU.
            _, idle_cpu = run_senders(env, 1, ["--until-idle", "--seconds", "5"])
            outbox = _outbox(env)
        finally:
            answered = peer.stop()
    sent = outbox.get(OutboxState.SENT.value, 0)
    return {"standin": standin, "sent": sent, "wall": wall, "cpu": cpu, "peer_cpu": peer_cpu,
            "startup": idle_cpu, "answered": answered.accepted, "steady": answered.steady,
            "redis_cpu": redis_cpu, "commands": commands,
            "in_doubt": outbox.get(OutboxState.SUBMITTED.value, 0),
            "once": answered.accepted == sent == answered.distinct_ids == outbox["ids"]}


# Where a sender's samples go: the innermost frame that names one of these decides.
_PLACES = [
    ("start-up imports", ("_find_and_load", "_call_with_frames_removed")),
    ("HTTP (client, answer parsing)", ("keepalive.py", "at_async", "aiohttp/", "urllib3/",
                                       "http/client", "requests/", "africastalking/",
                                       "at_transport", "multidict/", "yarl/", "codes.py")),
    ("record answers (SQL)", ("_record_answers", "_record_round", "apply_pending")),
    ("claim + book (SQL, Redis)", ("_plan ", "acquire_paced", "due_groups", "claim ")),
    ("in-doubt recovery (SQL)", ("recover_in_doubt", "_has_due")),
    ("event loop / hand-offs", ("asyncio/", "_send_at", "_send_now", "_send_all", "_dispatch",
                                "concurrent/futures",
                                "threading.py", "selectors.py")),
]


def _place(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        for name, marks in _PLACES:
            if any(mark in frame for mark in marks):
                return name
    return "native, no Python frame (GIL, interpreter start)"


def profile_summary(folder: Path) -> list[tuple[str, float]]:
    """Share of all sender samples per place (py-spy raw: 'frame;frame;... count')."""
    counts: dict[str, int] = {}
    for path in folder.glob("sender-*.txt"):
        for line in path.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if stack and n.isdigit():
                place = _place(stack)
                counts[place] = counts.get(place, 0) + int(n)
    total = sum(counts.values()) or 1
    return sorted(((p, c / total) for p, c in counts.items()), key=lambda x: -x[1])


def available(wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The stand-ins that can run here: nginx only when installed or installable."""
    if "nginx" not in wanted:
        return wanted
    try:
        ensure_installed()
    except StandInMissing as exc:
        print(f"nginx stand-in NOT available ({exc}): running the Python-simulator rounds "
              f"only; the like-for-like ratio cannot be measured in this run", flush=True)
        return ("simulator",)
    return wanted


def _ms(seconds: float, messages: int) -> float:
    return seconds / max(1, messages) * 1e3


def _hudoor_line(r: int, load: str, run: dict, senders: int) -> str:
    check = (f"answered {run['answered']:,} = sent {run['sent']:,}, ids distinct"
             if run["once"] else f"AT-MOST-ONCE BROKEN: answered {run['answered']:,}, "
             f"sent {run['sent']:,}")
    return (f"{r:5d} {load:>16} {'Hudoor->' + run['standin']:>17} "
            f"{run['sent'] / run['wall']:8,.0f} {_ms(run['cpu'], run['sent']):11.3f} "
            f"{_ms(run['peer_cpu'], run['sent']):10.3f}   steady {run['steady']:,.0f} msg/s; "
            f"{senders} senders, start-up incl. ({run['startup'] * 1e3:.0f} ms CPU a start); "
            f"{check}; in doubt {run['in_doubt']}; Redis {_ms(run['redis_cpu'], run['sent']):.3f}"
            f" ms/msg, {run['commands'] / max(1, run['sent']):.2f} commands/msg")


def _totals(runs: list[dict]) -> tuple[float, float, float]:
    sent = sum(o["sent"] for o in runs)
    return (sent / sum(o["wall"] for o in runs), sum(o["cpu"] for o in runs) / sent,
            sum(o["peer_cpu"] for o in runs) / sent)


def _steady(runs: list[dict]) -> float:
    """Answers a second over all runs, first to last answer (no sender start-up in it)."""
    spans = sum(o["answered"] / o["steady"] for o in runs if o["steady"])
    return sum(o["answered"] for o in runs) / spans if spans else 0.0


def byte_compile_project() -> int:
    """Compile the project's modules once, as installing a package does, and return how many
    packages were compiled: a sender start then loads bytecode instead of compiling its
    source anew (an environment with PYTHONDONTWRITEBYTECODE=1 never keeps what it
    compiled, and the ceiling counts every sender's start-up)."""
    root = Path(__file__).resolve().parent.parent
    packages = [d for d in ("core", "digests", "shaping") if (root / d).is_dir()]
    for name in packages:
        compileall.compile_dir(root / name, quiet=1)
    return len(packages)


def bench_ceiling(total: int, threads: int, senders: int, rounds: int, in_flight: int,
                  shipped: bool, profile: Path | None = None, standin: str = "both") -> None:
    """Hudoor (to each stand-in) and Kannel 1.4.5 in alternating rounds, same messages."""
    wanted = available(STANDINS[standin])
    byte_compile_project()
    print(f"\n2. ceiling, caps lifted: {total:,} one-segment messages, {rounds} alternating "
          f"rounds; Hudoor: {senders} sender processes, each one event loop on keep-alive "
          f"connections, to {' and to '.join(wanted)} as Africa's Talking; Kannel 1.4.5 "
          f"(Debian): bearerbox + smsbox -> fakesmsc, {in_flight} sendsms requests in flight. "
          f"CPU per message is the figure that counts on a shared machine (rates move with "
          f"the load beside them); stand-in CPU: nginx master + workers, the simulator "
          f"process, fakesmsc; the project's modules byte-compiled first, as an installed "
          f"package is")
    print(f"{'round':>5} {'load':>16} {'who':>17} {'msg/s':>8} {'CPU ms/msg':>11} "
          f"{'stand-in':>10}")
    ours: dict[str, list[dict]] = {who: [] for who in wanted}
    peers: list[KannelRun] = []
    for r in range(1, rounds + 1):
        for who in wanted:
            load = load_text()
            run = ceiling_run(total, threads, senders, pooled=True, standin=who)
            ours[who].append(run)
            print(_hudoor_line(r, load, run, senders), flush=True)
        load = load_text()
        peer = run_kannel(free_port, total, in_flight)
        peers.append(peer)
        print(f"{r:5d} {load:>16} {'Kannel->fakesmsc':>17} {peer.rate:8,.0f} "
              f"{_ms(peer.gateway_cpu, peer.messages):11.3f} "
              f"{_ms(peer.smsc_cpu, peer.messages):10.3f}   bearerbox + smsbox; client "
              f"{_ms(peer.client_cpu, peer.messages):.2f} ms/msg; refused {peer.refused}",
              flush=True)
        for who in wanted:
            run = ours[who][-1]
            print(f"{r:5d} {'':>16} {'ratio ' + who:>17} "
                  f"{run['sent'] / run['wall'] / peer.rate:7.2f}x "
                  f"{run['cpu'] / run['sent'] / (peer.gateway_cpu / peer.messages):10.2f}x "
                  f"{'':>10}   steady {run['steady'] / peer.rate:.2f}x", flush=True)
    k_rate = sum(p.messages for p in peers) / sum(p.wall for p in peers)
    k_cpu = sum(p.gateway_cpu for p in peers) / sum(p.messages for p in peers)
    k_smsc = sum(p.smsc_cpu for p in peers) / sum(p.messages for p in peers)
    print(f"Kannel -> fakesmsc: {k_rate:,.0f} msg/s at {k_cpu * 1e3:.3f} ms gateway CPU/msg; "
          f"fakesmsc {k_smsc * 1e3:.3f} ms/msg")
    judged = "nginx" if "nginx" in wanted else "simulator"
    for who in wanted:
        h_rate, h_cpu, h_peer = _totals(ours[who])
        sent = max(1, sum(o["sent"] for o in ours[who]))
        kind = ("like for like: both gateways to a C stand-in" if who == "nginx"
                else "Python simulator on the same cores; Kannel's stand-in is C")
        print(f"Hudoor -> {who}: {h_rate:,.0f} msg/s at {h_cpu * 1e3:.3f} ms sender CPU/msg "
              f"(incl. start-up); {who} {h_peer * 1e3:.3f} ms/msg (fakesmsc "
              f"{k_smsc * 1e3:.3f}); ratio {h_rate / k_rate:.2f}x the rate "
              f"(steady {_steady(ours[who]) / k_rate:.2f}x: first to last answer, without "
              f"the senders' start-up), {h_cpu / k_cpu:.1f}x the CPU per message ({kind}); "
              f"Redis {sum(o['redis_cpu'] for o in ours[who]) / sent * 1e3:.3f} ms/msg, "
              f"{sum(o['commands'] for o in ours[who]) / sent:.2f} commands/msg")
    once = all(run["once"] for runs in ours.values() for run in runs)
    h_rate, h_cpu, _ = _totals(ours[judged])
    others = "; ".join(f"Hudoor -> {who} {_totals(ours[who])[0] / k_rate:.2f}x, "
                       f"{_totals(ours[who])[1] * 1e3:.3f} ms" for who in wanted if who != judged)
    print(f"targets (judged on Hudoor -> {judged} vs Kannel -> fakesmsc): sender CPU/msg <= "
          f"{TARGET_CPU * 1e3:.3f} ms: {h_cpu * 1e3:.3f} ms "
          f"({'met' if h_cpu <= TARGET_CPU else 'NOT met'}); msg/s >= {TARGET_RATIO}x Kannel's: "
          f"{h_rate / k_rate:.2f}x ({'met' if h_rate >= TARGET_RATIO * k_rate else 'NOT met'})"
          f"{f'; also {others}' if others else ''}; at most once in every run: "
          f"{'yes' if once else 'NO'}; {load_text()}")
    if shipped:
        run = ceiling_run(total, threads, senders, pooled=False, standin=wanted[0])
        print(f"SDK as shipped (new connection per message), to {wanted[0]}: "
              f"{run['sent'] / run['wall']:,.0f} msg/s at {_ms(run['cpu'], run['sent']):.3f} "
              f"ms sender CPU/msg ({load_text()})")
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
        load = load_text()
        run = ceiling_run(total, threads, senders, pooled=True, standin=wanted[0],
                          profile=profile)
        print(f"profile (py-spy, all {senders} sender processes, {run['sent']:,} messages to "
              f"{wanted[0]}, {load}; samples in {profile}):")
        for place, share in profile_summary(profile):
            print(f"   {place:28} {share:6.1%}")
