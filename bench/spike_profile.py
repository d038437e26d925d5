"""Where the spike's app CPU goes: py-spy over every server process, and /proc per thread.

bench/capacity_bench.py --profile DIR runs one more Hudoor peak with this beside it:

- `py-spy record --subprocesses --gil` on the server's parent samples, in every worker, the
  thread holding the GIL (200 Hz): the Python work, not the wait for a socket or a CPU;
  `summary` gives each place's share of those samples, the innermost frame deciding;
- `threads_cpu` splits the server's CPU by thread name from /proc and counts context
  switches (where GIL hand-offs between a worker's threads show) and the kernel's time.
  Granian runs the app on threads named "tokio-rt-worker" and "granian" alike (py-spy
  dump shows Python stacks on both), so the names split its threads, not Rust from Python.

py-spy reads the workers' memory from its own process: its CPU is not in the app figure.
It is installed into this interpreter's venv when missing (benches only, not a dependency).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

# (place, marks in a py-spy frame "function (path/file.py:line)"): the innermost frame
# naming one of these decides; frames that name none fall through to the next outer one.
PLACES: list[tuple[str, tuple[str, ...]]] = [
    ("start-up imports", ("_find_and_load", "_call_with_frames_removed")),
    ("logging", ("logging/",)),
    ("Redis client", ("redis/", "hiredis")),
    ("psycopg (driver)", ("psycopg/", "psycopg_binary")),
    ("SQLAlchemy ORM", ("sqlalchemy/orm/",)),
    ("SQLAlchemy Core, engine, pool", ("sqlalchemy/",)),
    ("audit chain", ("core/audit",)),
    ("rendering, i18n", ("babel/", "gettext", "core/i18n", "ussd/screens", "ussd/titles")),
    ("session state, JSON", ("ussd/state", "ussd/store", "json/")),
    ("validation (phone numbers, form)", ("phonenumbers/", "core/contacts", "parse_qsl", "urllib/parse")),
    ("hop caches, directory", ("ussd/cache", "ussd/directory_db", "ussd/warmup")),
    ("state machine (ussd/ flows)", ("ussd/",)),
    ("core/ (attendance, calendar, saves)", ("core/",)),
    ("WSGI dispatch (gateway/, Flask)", ("gateway/", "werkzeug/", "flask/", "granian/")),
    ("threads, locks", ("threading.py", "queue.py")),
]
KERNEL = "(kernel: system time, of all threads)"
NATIVE = "native, no Python frame (GIL, interpreter)"
OTHER = "other stdlib (dataclasses, datetime, ...)"


def py_spy() -> str:
    """py-spy beside this interpreter, installed into its venv when missing (profiles only)."""
    here = Path(sys.executable).parent / "py-spy"
    if not here.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
    return str(here)


def start(pid: int, out: Path, rate: int = 200, gil: bool = True) -> subprocess.Popen[bytes]:
    """Start sampling the server `pid` and its workers into `out` (raw collapsed stacks).

    `gil`: only the thread holding the GIL in each worker (the Python work). Without it,
    every thread on a CPU or runnable: on a loaded box a thread back from a socket waits
    for a CPU in its send/recv frame, and those frames then swamp the picture.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([py_spy(), "record", "--subprocesses", "--nonblocking", "--rate", str(rate),
                             *(["--gil"] if gil else []),
                             "--format", "raw", "-o", str(out), "--pid", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish(proc: subprocess.Popen[bytes]) -> None:
    """Stop sampling; py-spy writes its file on SIGINT."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def place(stack: str) -> str:
    """The place a sample belongs to: the innermost frame that names one decides."""
    frames = [f for f in stack.split(";") if "(" in f]  # "process …"/"thread …" labels have none
    if not frames:
        return NATIVE
    for frame in reversed(frames):
        for name, marks in PLACES:
            if any(mark in frame for mark in marks):
                return name
    return OTHER


def summary(out: Path) -> list[tuple[str, float]]:
    """Share of all samples per place (py-spy raw: 'frame;frame;... count' a line)."""
    counts: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():
            counts[place(stack)] += int(n)
    total = sum(counts.values()) or 1
    return [(p, c / total) for p, c in counts.most_common()]


def top_frames(out: Path, n: int = 15) -> list[tuple[str, float]]:
    """The innermost Python frames with the most samples (own time), as shares."""
    counts: Counter[str] = Counter()
    for line in out.read_text().splitlines():
        stack, _, k = line.rpartition(" ")
        frames = [f for f in stack.split(";") if "(" in f]
        if frames and k.isdigit():
            counts[frames[-1]] += int(k)
    total = sum(counts.values()) or 1
    return [(f, c / total) for f, c in counts.most_common(n)]


def process_tree(pid: int) -> list[int]:
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


def box_jiffies() -> tuple[int, int]:
    """(busy, idle) clock ticks of the whole machine so far, every core (/proc/stat's cpu line).

    Idle counts iowait too; busy is the rest (user, nice, system, irq, softirq, steal).
    """
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values[:8]) - idle, idle


def threads_cpu(pid: int) -> dict[str, tuple[float, int]]:
    """(CPU seconds, context switches) so far per thread name, over a process and its children.

    The kernel's share of all of it is under KERNEL, counted inside the per-name figures too.
    """
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, tuple[float, int]] = {}
    kernel = 0.0
    for p in process_tree(pid):
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                name = (task / "comm").read_text().strip()
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                switches = sum(int(line.split()[1]) for line in (task / "status").read_text().splitlines()
                               if "ctxt_switches:" in line)
            except (OSError, ValueError, IndexError):
                continue
            label = name.rstrip("0123456789-_ ") or name  # "worker-3" and "worker-7" are one kind
            cpu, sw = out.get(label, (0.0, 0))
            out[label] = (cpu + (int(fields[11]) + int(fields[12])) / tick, sw + switches)
            kernel += int(fields[12]) / tick
    out[KERNEL] = (kernel, 0)
    return out


def threads_per_hop(before: dict[str, tuple[float, int]], after: dict[str, tuple[float, int]],
                    hops: float) -> list[tuple[str, float, float]]:
    """(thread kind, CPU ms a hop, context switches a hop), largest CPU first."""
    rows = []  # the kernel's share is not a thread of its own: it is kept out of the sum
    for name, (cpu, sw) in after.items():
        cpu0, sw0 = before.get(name, (0.0, 0))
        rows.append((name, (cpu - cpu0) * 1000 / hops, (sw - sw0) / hops))
    return sorted((r for r in rows if r[1] > 0 or r[2] > 0), key=lambda r: -r[1])
