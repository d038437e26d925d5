"""The morning spike's world, shared by the USSD benches: servers, district, phones, app servers.

bench/ussd_bench.py, bench/capacity_bench.py and bench/shedding_bench.py all need the same
thing: a durable PostgreSQL cluster and a Redis, the sandbox SIS serving a district, a full
sync, every teacher's SIM bound, the hop caches warmed as the scheduler does before the
first bell, the bare hop's table, and the app served by gunicorn, granian or uWSGI. It is built
here once; each bench measures its own thing on top.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench import debian  # noqa: E402
from core import migrate  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.models import Contact, ContactKind, Person, Role  # noqa: E402
from tests.support.servers import PostgresCluster, RedisServer, free_port, wait_http  # noqa: E402

BIN = Path(sys.executable).parent
SUNDAY_MORNING = "2026-11-29T08:00:00+02:00"


def school_morning(n: int) -> str:
    """The n-th school morning from SUNDAY_MORNING on: Sun-Thu, in term, no holiday.

    Each server (and, in bench/capacity_bench.py, each run) a bench measures gets a morning
    of its own: on the same morning, a server measured later finds its classes taken and
    late arrivals already marked, so its hops write less (a lighter mix than the first's)."""
    from datetime import datetime, timedelta

    from core.calendar_seed import TERMS

    first = datetime.fromisoformat(SUNDAY_MORNING)
    closed = _closed_days(first.year)
    morning, left = first, n
    while True:
        day = morning.date()
        if (day.weekday() not in (4, 5) and day not in closed
                and any(start <= day <= end for _, start, end in TERMS)):
            if left == 0:
                return morning.isoformat()
            left -= 1
        morning += timedelta(days=1)


@functools.cache
def _closed_days(year: int) -> frozenset[date]:
    """Egypt's holidays of `year` and the two after it (school_morning asks once a run)."""
    from core.calendar_seed import holidays_for

    return frozenset(h.day for y in (year, year + 1, year + 2) for h in holidays_for(y))


HUDOOR_APP, BARE_APP = "wsgi:app", "bench.bare_app:app"
SERVERS = ("gunicorn", "granian", "uwsgi")
GRANIAN_EXTRA: list[str] = []  # set by a bench's --granian-args
UWSGI_FRONT = ["router"]  # set by a bench's --uwsgi-front: "router" or "http11"


def gunicorn(app: str, port: int, env: dict[str, str], workers: int, threads: int,
             access_log: Path | None = None) -> subprocess.Popen[bytes]:
    """Serve `app` with gunicorn's threaded workers (optionally logging request ms)."""
    log = ["--access-logfile", str(access_log), "--access-logformat", "%(M)s"] if access_log else []
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-k", "gthread", "--threads", str(threads),
         "-b", f"127.0.0.1:{port}", "--keep-alive", "30", "--log-level", "warning",
         "--control-socket", str(Path(tempfile.gettempdir()) / f"gunicorn-{port}.ctl"), *log, app],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def granian_exe() -> str | None:
    """Return granian's executable, installing it into this venv when missing (bench only)."""
    exe = shutil.which("granian", path=str(BIN))
    if exe is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "granian"], check=False)
        exe = shutil.which("granian", path=str(BIN))
    return exe


def granian(app: str, port: int, env: dict[str, str], workers: int, threads: int,
            backpressure: int | None = None, access_log: Path | None = None) -> subprocess.Popen[bytes] | None:
    """Serve `app` with granian's WSGI interface: `workers` processes x `threads` blocking threads.

    `backpressure`: requests a worker accepts at once (granian's default: its threads).
    `access_log`: a file that gets each request's milliseconds, one a line (as gunicorn's).
    GRANIAN_EXTRA: more granian options for every server started, e.g. ["--runtime-mode",
    "st"], so Hudoor and the bare hop are served alike.
    """
    exe = granian_exe()
    if exe is None:
        return None
    extra = ["--backpressure", str(backpressure)] if backpressure else []
    extra += GRANIAN_EXTRA  # A/B of granian's options (capacity_bench --granian-args)
    out = subprocess.DEVNULL
    if access_log is not None:
        extra += ["--access-log", "--access-log-fmt", "%(dt_ms).2f"]
        out = access_log.open("ab")  # type: ignore[assignment]
    return subprocess.Popen([exe, "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--blocking-threads", str(threads),
                             "--no-ws", *extra, app],
                            env=env, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)


def uwsgi_exe() -> str | None:
    """Return uWSGI's executable, building it into this venv when missing (bench only:
    pip builds it from source with the machine's gcc, about a minute)."""
    exe = shutil.which("uwsgi", path=str(BIN))
    if exe is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "uwsgi"], check=False)
        exe = shutil.which("uwsgi", path=str(BIN))
    return exe


def uwsgi(app: str, port: int, env: dict[str, str], workers: int, threads: int) -> subprocess.Popen[bytes] | None:
    """Serve `app` with uWSGI: a master and `workers` processes, each loading the app itself
    (--lazy-apps: no Redis or PostgreSQL socket shared across a fork), `threads` a process
    (1: none, uWSGI's usual shape).

    UWSGI_FRONT "router" (the default): uWSGI's own HTTP router, a C process in the
    server's tree that keeps the clients' connections alive (--http-keepalive) and hands
    each request to a free worker over a local socket. "http11": the workers speak
    HTTP/1.1 themselves (--http11-socket); a worker thread then serves one keep-alive
    connection until it closes, so it needs a thread per client connection. Either way
    the CPU counted is the whole tree's (master, router, workers).
    """
    exe = uwsgi_exe()
    if exe is None:
        return None
    bind = f"127.0.0.1:{port}"
    front = ["--http", bind, "--http-keepalive"] if UWSGI_FRONT[0] == "router" else ["--http11-socket", bind]
    more = ["--threads", str(threads)] if threads > 1 else []
    return subprocess.Popen([exe, "--master", "--lazy-apps", "--enable-threads", "--need-app",
                             "--processes", str(workers), *more, *front, "--home", sys.prefix,
                             "--chdir", str(ROOT), "--module", app, "--disable-logging",
                             "--die-on-term", "--no-orphans"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ensure_wrk() -> str:
    """wrk's path; installed from Debian's package when absent, as `make bench` does (the
    benches that drive the spike are run on their own too)."""
    exe = debian.ensure("wrk", "wrk")
    if exe is None:
        raise SystemExit("wrk, the load generator, is not installed and could not be "
                         "(apt-get install wrk)")
    return exe


def wrk(url: str, conns: int, seconds: int, phones: Path) -> dict[str, float]:
    """Run whole teacher sessions (bench/ussd_sessions.lua), one connection per phone."""
    out = subprocess.run(
        ["wrk", "-t", str(conns), "-c", str(conns), "-d", f"{seconds}s", "--latency", "-s",
         str(ROOT / "bench/ussd_sessions.lua"), url, "--", str(phones), str(conns), "/at/ussd?token=bench"],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    lua = dict(re.findall(r"(\w+)=(\d+)", (re.search(r"LUA (.*)", out) or [""])[0]))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rate": rate, "p50": pct("50"), "p99": pct("99"), "sessions": float(lua.get("ends", 0)),
            "errors": float(non2xx.group(1)) if non2xx else 0.0}


def bind_teachers(url: str) -> list[str]:
    """Give every teacher a bound SIM, as activation over USSD would (setup, not measured)."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s, s.begin():
        teachers = s.scalars(select(Person.id).where(Person.role == Role.TEACHER.value)
                             .order_by(Person.id)).all()  # school by school, as synced
        msisdns = [f"+2010{7000000 + i:08d}" for i in range(len(teachers))]
        s.add_all(Contact(person_id=pid, msisdn=m, kind=ContactKind.STAFF.value)
                  for pid, m in zip(teachers, msisdns))
    engine.dispose()
    return msisdns


@dataclass
class World:
    """A synced district with bound teacher SIMs, ready to serve (see `world`)."""

    url: str  # SQLAlchemy URL of the durable PostgreSQL database
    dsn: str  # the same for libpq
    redis_url: str
    env: dict[str, str]  # what an app process (or a CLI run) gets
    phones: Path  # one bound teacher MSISDN a line, for wrk
    warm_phones: Path  # the last tenth of the schools' teachers, apart (a server's warm-up)
    tmp: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    pg_pid: int = 0  # the cluster's first process (postmaster, or runuser above it): its tree is PostgreSQL
    redis_pid: int = 0  # redis-server

    def serve(self, kind: str, workers: int, threads: int, *, app: str = HUDOOR_APP,
              env: dict[str, str] | None = None, access_log: Path | None = None,
              backpressure: int | None = None) -> tuple[str, subprocess.Popen[bytes] | None]:
        """Start `app` on `kind` ("gunicorn", "granian" or "uwsgi"); return its base URL once it answers.

        Returns ("", None) when the server is not available on this machine.
        """
        port = free_port()
        env = env or self.env
        if kind == "granian":
            proc = granian(app, port, env, workers, threads, backpressure, access_log)
        elif kind == "uwsgi":
            proc = uwsgi(app, port, env, workers, threads)
        else:
            proc = gunicorn(app, port, env, workers, threads, access_log)
        if proc is None:
            return "", None
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=180)  # a busy machine starts slowly
        return f"http://127.0.0.1:{port}", proc

    def hudoor(self, *args: str, env: dict[str, str] | None = None) -> None:
        """Run a `hudoor` CLI command against this world."""
        subprocess.run([str(BIN / "hudoor"), *args], env=env or self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a long-running `hudoor` process that ends with the world."""
        proc = subprocess.Popen([str(BIN / "hudoor"), *args], env=env or self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    """End a server this bench started, waiting for it (killed if it does not go)."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@contextmanager
def world(name: str, schools: int, *, extra_env: dict[str, str] | None = None) -> Iterator[World]:
    """Build the spike's world: durable PostgreSQL, Redis, the sandbox SIS, a synced district,
    bound teacher SIMs, warmed caches, the bare hop's table. Everything stops on exit."""
    from bench.bare_app import create_table
    from core.drill.backup import libpq

    ensure_wrk()  # before minutes of building, not after
    pg, rds = PostgresCluster.start(fast=False), RedisServer.start()
    tmp = Path(tempfile.mkdtemp(prefix=f"hudoor-{name}-"))
    w: World | None = None
    sandbox: subprocess.Popen[bytes] | None = None
    try:
        url = pg.create_database(name)
        migrate.upgrade(url)
        sandbox_port = free_port()
        sandbox = subprocess.Popen(
            [str(BIN / "hudoor"), "sandbox", "serve", "--district", "national", "--port",
             str(sandbox_port), "--schools", str(schools), "--students", "800", "--teachers", "20"],
            stdout=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{sandbox_port}/v1/schools")
        base = {k: v for k, v in os.environ.items() if not k.startswith("HUDOOR_")}
        env = {**base, "HUDOOR_DATABASE_URL": url, "HUDOOR_REDIS_URL": rds.url,
               "HUDOOR_VAR_DIR": str(tmp), "HUDOOR_UPSTREAM_URL": f"http://127.0.0.1:{sandbox_port}",
               "HUDOOR_USSD_CALLBACK_TOKEN": "bench", "HUDOOR_FAKE_NOW": SUNDAY_MORNING,
               **(extra_env or {})}
        w = World(url, libpq(url)[0], rds.url, env, tmp / "phones", tmp / "warm-phones", tmp,
                  [sandbox], pg.proc.pid, rds.proc.pid)
        w.hudoor("sync", "full")
        phones = bind_teachers(url)
        cut = len(phones) - max(1, len(phones) // 10)
        w.phones.write_text("\n".join(phones[:cut]) + "\n")
        w.warm_phones.write_text("\n".join(phones[cut:]) + "\n")
        w.hudoor("ussd-warm")  # as production's scheduler does before the first bell
        create_table(w.dsn)
        yield w
    finally:
        for p in (w.procs if w else [sandbox] if sandbox else []):
            p.terminate()
        for p in (w.procs if w else [sandbox] if sandbox else []):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        rds.stop()
        pg.stop()
