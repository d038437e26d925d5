"""nginx as Hudoor's operator stand-in in the ceiling bench: as cheap as Kannel's fakesmsc.

Kannel's side of the ceiling bench writes to fakesmsc, a small C program; Hudoor's sender
speaks HTTP to Africa's Talking, and its Python simulator costs about half as much CPU a
message as the sender it measures, on the same two cores. nginx answers the sender's real
request (`POST /version1/messaging`, keep-alive) from C with a constant Africa's Talking
answer, so both gateways meet a stand-in that does next to nothing (docs/decisions/0037).

It runs as the current user from a temporary folder (its config, pid file, logs and temp
paths there; nothing under /etc, /var or /run), installed from Debian's `nginx-light`
when missing, like Kannel. Every answered request is one line of its access log, so the
bench counts what nginx answered and checks it against what the outbox marks sent.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.drill.cluster import wait_until
from tests.support.servers import port_open

NGINX = "/usr/sbin/nginx"
PATH = "/version1/messaging"
MESSAGE_ID_PREFIX = "ATXid_"
# Africa's Talking's answer for one accepted recipient; nginx puts a fresh 32-hex
# $request_id in each, so every request gets its own message id.
ANSWER = ('{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: EGP 0.2000",'
          '"Recipients":[{"statusCode":101,"number":"+20","status":"Success",'
          f'"cost":"EGP 0.2000","messageId":"{MESSAGE_ID_PREFIX}$request_id"}}]}}}}')
# One line a request: when (epoch seconds, ms), status, method, the id it was given.
LOG_FORMAT = "$msec $status $request_method $request_id"
# Temp paths nginx creates at start-up, by module; each moved into the temp folder.
_TEMP_PATHS = {"client_body": None, "proxy": "http_proxy_module",
               "fastcgi": "http_fastcgi_module", "uwsgi": "http_uwsgi_module",
               "scgi": "http_scgi_module"}

_CONF = """\
{user}worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    log_format counted '{log_format}';
    access_log {tmp}/access.log counted buffer=256k flush=1s;
{temp_paths}    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port};
        location = {path} {{
            if ($request_method != POST) {{
                return 405;
            }}
            default_type application/json;
            return 201 '{answer}';
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


class StandInMissing(RuntimeError):
    """nginx is not there and could not be installed (the reason is the message)."""


def answer_for(request_id: str) -> str:
    """The body nginx sends for a request given `request_id` (the template, filled in)."""
    return ANSWER.replace("$request_id", request_id)


def _without(version_text: str) -> set[str]:
    """Modules a build left out (`nginx -V`: --without-http_scgi_module ...)."""
    return {word.removeprefix("--without-") for word in version_text.split()
            if word.startswith("--without-")}


def config_text(tmp: Path, port: int, *, workers: int = 1, left_out: frozenset[str] = frozenset(),
                run_as: tuple[str, str] | None = None) -> str:
    """nginx.conf for the stand-in: every path in `tmp`, answering on 127.0.0.1:`port`.

    ``left_out`` names modules the build lacks (their temp-path directives would not
    parse); ``run_as`` (user, group) is needed only when started as root, so the
    workers stay the current user instead of nginx's default `nobody`.
    """
    temp_paths = "".join(f"    {name}_temp_path {tmp}/{name};\n"
                         for name, module in _TEMP_PATHS.items()
                         if module is None or module not in left_out)
    user = f"user {run_as[0]} {run_as[1]};\n" if run_as else ""
    return _CONF.format(user=user, workers=workers, tmp=tmp, port=port, path=PATH,
                        log_format=LOG_FORMAT, temp_paths=temp_paths, answer=ANSWER)


def ensure_installed() -> None:
    """Install Debian's nginx-light if nginx is absent; raise StandInMissing if it cannot be."""
    if Path(NGINX).exists():
        return
    if shutil.which("apt-get") is None:
        raise StandInMissing(f"{NGINX} is absent and there is no apt-get to install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0 or not Path(NGINX).exists():
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise StandInMissing(f"apt-get install nginx-light failed ({tail[0]})")


@dataclass(frozen=True)
class Answered:
    """What nginx's access log says it answered."""

    accepted: int  # POST answered 201
    other: int  # any other line (a 404, a refused method): none in a clean run
    distinct_ids: int  # distinct request ids among the accepted
    first: float  # epoch seconds of the first and last accepted answer
    last: float

    @property
    def steady(self) -> float:
        """Answers a second from the first to the last (the stand-in's own view)."""
        span = self.last - self.first
        return (self.accepted - 1) / span if self.accepted > 1 and span > 0 else 0.0


def read_log(path: Path) -> Answered:
    """Count the access log's lines (format LOG_FORMAT)."""
    accepted = other = 0
    ids: set[str] = set()
    first, last = float("inf"), 0.0
    for line in path.read_text().splitlines() if path.exists() else []:
        at, status, method, request_id = line.split()
        if status == "201" and method == "POST":
            accepted += 1
            ids.add(request_id)
            first, last = min(first, float(at)), max(last, float(at))
        else:
            other += 1
    return Answered(accepted, other, len(ids), first if accepted else 0.0, last)


def _proc_cpu(pid: int, children_too: bool = False) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children_too:  # reaped children (a worker that ended) are counted in its parent
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    listing = Path(f"/proc/{pid}/task/{pid}/children")
    if listing.exists():
        return [int(p) for p in listing.read_text().split()]
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    def up() -> bool:
        if proc.poll() is not None:
            raise StandInMissing(f"nginx exited at start-up (status {proc.returncode})")
        return port_open(port)
    try:
        wait_until(up, timeout, f"nginx: port {port}")
    except RuntimeError as exc:
        raise StandInMissing(str(exc)) from None


class NginxStandIn:
    """nginx (master + `workers` workers) on a free loopback port; stop() ends it.

    ``url`` is the base the sender is given (its HUDOOR_AT_BASE_URL).
    """

    name = "nginx"

    def __init__(self, port: int, workers: int = 1) -> None:
        ensure_installed()
        self._tmp = Path(tempfile.mkdtemp(prefix="nginx-standin-"))
        version = subprocess.run([NGINX, "-V"], capture_output=True, text=True).stderr
        self.version = version.splitlines()[0].split("/")[-1] if version else "?"
        run_as = None
        if os.geteuid() == 0:
            run_as = (pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name)
        conf = self._tmp / "nginx.conf"
        conf.write_text(config_text(self._tmp, port, workers=workers,
                                    left_out=frozenset(_without(version)), run_as=run_as))
        self._proc = subprocess.Popen(
            [NGINX, "-p", str(self._tmp), "-e", str(self._tmp / "error.log"), "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_port(port, self._proc)
        except StandInMissing as exc:
            self.stop()
            raise StandInMissing(f"{exc}: {self._error_tail()}") from exc
        self.url = f"http://127.0.0.1:{port}"
        self._answered: Answered | None = None

    def _error_tail(self) -> str:
        log = self._tmp / "error.log"
        lines = log.read_text().strip().splitlines() if log.exists() else []
        return lines[-1] if lines else "no error log"

    def cpu_seconds(self) -> float:
        """CPU (user + system) of the master and its workers so far."""
        return _proc_cpu(self._proc.pid, children_too=True) + sum(
            _proc_cpu(pid) for pid in _children(self._proc.pid))

    def stop(self) -> Answered:
        """Stop gracefully (the workers flush their log buffers); return what was answered."""
        if self._answered is None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGQUIT)
                try:
                    self._proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=10)
            self._answered = read_log(self._tmp / "access.log")
            shutil.rmtree(self._tmp, ignore_errors=True)
        return self._answered
