"""`hudoor serve`: the web app under granian (WSGI), the server `make run` and production use.

The capacity bench measured granian serving Hudoor 56 % faster than gunicorn (gthread) at a
lower p99 and with 35 % less CPU per hop (decision 0034). This command builds granian's
command line from the settings (HUDOOR_WEB_WORKERS, HUDOOR_WEB_THREADS, HUDOOR_WEB_ACCESS_LOG)
and runs granian in a process group of its own, passing on SIGINT/SIGTERM (stop gracefully:
in-flight requests finish, then the workers exit) and SIGHUP (replace the workers, a graceful
reload after a deploy) to granian's main process only.

Why not exec granian in the terminal's group: Ctrl-C signals the whole group, and granian's
workers, signalled directly as well as by their main process, refuse to stop until the kill
timeout (30 s, then SIGKILL: in-flight requests lost). Granian is told to die with this
process (PR_SET_PDEATHSIG), so even a `kill -9` of `hudoor serve` leaves no server behind.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

import click

# granian's access-log atoms: %(path)s is the path alone; %(query_string)s is never logged,
# because the Africa's Talking callbacks may carry `?token=` (docs/SECURITY.md).
ACCESS_LOG_FORMAT = '%(addr)s - [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'
KILL_TIMEOUT_SECONDS = 30  # a worker that has not stopped gracefully by then is killed


def granian_argv(*, host: str, port: int, workers: int, threads: int, access_log: bool) -> list[str]:
    """Return the command that serves `wsgi:app` with these settings."""
    from core.config import ROOT

    argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--no-ws",
            "--host", host, "--port", str(port), "--working-dir", str(ROOT),
            "--workers", str(workers), "--blocking-threads", str(threads),
            "--respawn-failed-workers", "--workers-kill-timeout", str(KILL_TIMEOUT_SECONDS)]
    if access_log:
        argv += ["--access-log", "--access-log-fmt", ACCESS_LOG_FORMAT]
    else:
        argv.append("--no-access-log")
    return [*argv, "wsgi:app"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind to.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to bind to.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes (default HUDOOR_WEB_WORKERS, 3).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Blocking threads per process (default HUDOOR_WEB_THREADS, 4).")
@click.option("--access-log/--no-access-log", default=None,
              help="One line per request, path only (default HUDOOR_WEB_ACCESS_LOG, off).")
def serve(host: str, port: int, workers: int | None, threads: int | None,
          access_log: bool | None) -> None:
    """Serve the web app with granian (SIGTERM stops gracefully, SIGHUP reloads workers)."""
    from core.config import Config, ConfigError

    try:
        cfg = Config.from_env()
    except ConfigError as exc:  # refuse here, not once per worker
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    argv = granian_argv(host=host, port=port, workers=workers or cfg.web_workers,
                        threads=threads or cfg.web_threads,
                        access_log=cfg.web_access_log if access_log is None else access_log)
    click.echo(f"hudoor serve: granian on http://{host}:{port} ({argv[argv.index('--workers') + 1]} "
               f"workers x {argv[argv.index('--blocking-threads') + 1]} threads)", err=True)
    sys.exit(run(argv))


def _die_with_parent() -> None:  # runs in the child between fork and exec
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)


def run(argv: list[str]) -> int:
    """Run granian in its own process group, pass signals on; return its exit status."""
    child = subprocess.Popen(argv, process_group=0, preexec_fn=_die_with_parent)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    code = child.wait()  # retried after each forwarded signal (PEP 475)
    return code if code >= 0 else 128 - code
