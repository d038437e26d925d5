"""What the SMS benches share: the outbox filled, the simulator and the senders run.

bench/sms_bench.py (caps, composition), bench/sms_ceiling.py and bench/simulator_bench.py
start the same pieces: a SQLite outbox with the day's drafts, `hudoor simulator serve` in
its own process, `hudoor digests send` processes, each figure beside the load average.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import migrate  # noqa: E402
from core.config import Config  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from digests import outbox  # noqa: E402
from digests.outbox import Draft  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

HUDOOR = str(Path(sys.executable).parent / "hudoor")

DAY = date(2026, 11, 29)
PREFIX = {"vodafone": "10", "etisalat": "11", "orange": "12", "we": "15"}


def sender_env(tmp: Path, redis_url: str, sim_url: str, caps: str, guard_ms: int = 0,
         schedule: str = "arrival") -> dict[str, str]:
    db = f"sqlite:///{tmp / 'sms.db'}"
    migrate.upgrade(db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUDOOR_")}
    env.update(HUDOOR_DATABASE_URL=db, HUDOOR_REDIS_URL=redis_url, HUDOOR_VAR_DIR=str(tmp),
               HUDOOR_SMS_PROVIDER="africastalking", HUDOOR_AT_BASE_URL=sim_url,
               HUDOOR_OPERATOR_CAPS=caps, HUDOOR_QUIET_START_HOUR="0",
               HUDOOR_QUIET_END_HOUR="0", HUDOOR_SMS_URGENT_SHARE="0",
               HUDOOR_SHAPER_GUARD_MS=str(guard_ms), HUDOOR_SHAPER_SCHEDULE=schedule)
    return env


def enqueue(env: dict[str, str], per_operator: dict[str, int], tag: str) -> None:
    rt = Runtime(Config.from_env(env))
    drafts = []
    for op, n in per_operator.items():
        drafts += [Draft("daily_digest", DAY, f"+20{PREFIX[op]}{i:08d}", "ar",
                         f"حضور {tag} {i}") for i in range(n)]
    with rt.sessions() as s, s.begin():
        outbox.enqueue(s, drafts)
    rt.close()


def _favoured() -> None:
    """Run the simulator ahead of the senders on the shared cores (when allowed).

    It stands for the operator, which in production is not on Hudoor's CPUs: its
    arrival stamps should measure when a message was sent, not when a busy core
    got round to reading it.
    """
    try:
        os.nice(-10)
    except PermissionError:
        pass


class Simulator:
    """`hudoor simulator serve` in its own process (its own GIL), no delivery reports."""

    def __init__(self, caps: str, path: list[str] | None = None) -> None:
        self.port = free_port()
        self._proc = subprocess.Popen(
            [HUDOOR, "simulator", "serve", "--port", str(self.port), "--caps", caps,
             "--fail-share", "0", "--no-dlr", *(path or [])], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, preexec_fn=_favoured)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("simulator did not start")

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/stats", timeout=30) as answer:
            return json.loads(answer.read())

    def cpu_seconds(self) -> float:
        """Return the simulator process's CPU time so far (user + system)."""
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_senders(env: dict[str, str], n: int, args: list[str],
             profile: Path | None = None, said: list[dict] | None = None) -> tuple[float, float]:
    """Run n sender processes to the end; return (wall seconds, their CPU seconds).

    With `profile`, each runs under `py-spy record` (its samples written there as
    collapsed stacks); py-spy's own CPU is then in the figure, so a profiled run is
    for the profile only. ``said`` collects each sender's closing counters (its JSON
    line) when given.
    """
    start, cpu = time.monotonic(), _children_cpu()
    procs = []
    for i in range(n):
        command = [HUDOOR, "digests", "send", *args]
        if profile is not None:
            command = [py_spy(), "record", "--rate", "250", "--format", "raw", "--nonblocking",
                       "--threads", "-o", str(profile / f"sender-{i}.txt"), "--", *command]
        procs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True,
                                      stderr=subprocess.DEVNULL if profile else None))
    for proc in procs:
        out, _ = proc.communicate(timeout=600)
        for line in out.splitlines():
            if line.startswith("{") and said is not None:
                said.append(json.loads(line))
    return time.monotonic() - start, _children_cpu() - cpu


def py_spy() -> str:
    """py-spy beside this interpreter, installed into it when missing (profiles only)."""
    here = Path(sys.executable).parent / "py-spy"
    if not here.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return str(here)


def load_text() -> str:
    """The 1/5/15-minute load averages (`uptime`), to stand beside every figure."""
    return "load " + " ".join(f"{v:.1f}" for v in os.getloadavg())
