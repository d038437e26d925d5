"""`hudoor serve` (granian, decision 0034): the settings reach granian, the access log never
shows a callback token, SIGHUP reloads the workers while serving, Ctrl-C (SIGINT to the whole
process group, as a terminal sends it) stops gracefully and leaves no process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from gateway.cli_serve import granian_argv
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
BOUND = 120  # seconds: a bound for a busy machine, not a measurement


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(p) for p in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(check, what: str, server: subprocess.Popen[bytes]):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + BOUND
    while True:
        try:
            result = check()  # None: not yet (a 4xx Response is falsy, yet an answer)
            if result is not None:
                return result
        except requests.ConnectionError:
            pass
        assert server.poll() is None, f"the server stopped while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} within {BOUND} s"
        time.sleep(0.2)


def _started(log: Path, count: int):  # type: ignore[no-untyped-def]
    """A check for _wait_for: granian's log shows `count` workers started (the app imported)."""
    return lambda: True if log.read_text().count("Started worker") >= count else None


def test_the_settings_become_granian_options() -> None:
    argv = granian_argv(host="127.0.0.1", port=8123, workers=3, threads=4, access_log=False)
    assert argv[1:3] == ["-m", "granian"] and argv[-1] == "wsgi:app"
    assert argv[argv.index("--interface") + 1] == "wsgi"
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--blocking-threads") + 1] == "4"
    assert "--no-access-log" in argv
    on = granian_argv(host="0.0.0.0", port=80, workers=1, threads=1, access_log=True)
    fmt = on[on.index("--access-log-fmt") + 1]
    assert "%(path)s" in fmt and "query" not in fmt


def test_serve_logs_paths_only_reloads_on_hup_and_stops_cleanly_on_term(
        redis_url: str, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "web.log"
    env = {**os.environ, "HUDOOR_ENV": "test", "HUDOOR_VAR_DIR": str(tmp_path),
           "HUDOOR_DATABASE_URL": f"sqlite:///{tmp_path / 'hudoor.db'}", "HUDOOR_REDIS_URL": redis_url,
           "HUDOOR_DLR_CALLBACK_TOKEN": "secret-dlr-token-value",
           "HUDOOR_WEB_WORKERS": "2", "HUDOOR_WEB_THREADS": "2", "HUDOOR_WEB_ACCESS_LOG": "true"}
    hudoor = str(Path(sys.executable).parent / "hudoor")
    with log.open("wb") as out:
        server = subprocess.Popen([hudoor, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, process_group=0)
    base = f"http://127.0.0.1:{port}"
    try:
        resp = _wait_for(lambda: requests.post(f"{base}/at/delivery-reports?token=secret-dlr-token-value",
                                               data={"id": "x"}, timeout=60), "an answer", server)
        assert resp.status_code == 400  # the token was accepted; the report lacks fields
        assert requests.post(f"{base}/at/inbound?token=wrong-token-value", timeout=60).status_code == 403
        granian = _wait_for(lambda: c.pop() if len(c := _children(server.pid)) == 1 else None,
                            "granian", server)
        workers = _wait_for(lambda: w if len(w := _children(granian)) == 2 else None,
                            "2 workers", server)
        # The first answer needs one worker; the other may still be importing the app, and a
        # worker told to stop while importing is killed at the bound (decision 0034).
        _wait_for(_started(log, 2), "both workers started", server)

        server.send_signal(signal.SIGHUP)  # graceful reload: new workers, the same listener
        _wait_for(lambda: now if len(now := _children(granian)) == 2 and not now & workers else None,
                  "reloaded workers", server)
        assert not any(_alive(pid) for pid in workers)
        assert _wait_for(lambda: requests.get(f"{base}/healthz", timeout=60), "an answer after HUP",
                         server).status_code in (200, 503)
        workers = _children(granian)
        # As before the reload: this test is about workers that serve, so wait for both.
        _wait_for(_started(log, 4), "both reloaded workers started", server)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole group
        assert server.wait(timeout=BOUND) == 0
    assert not any(_alive(pid) for pid in {granian, *workers}), "a process outlived Ctrl-C"
    lines = log.read_text().splitlines()
    assert any('"POST /at/delivery-reports HTTP/1.1" 400' in line for line in lines), lines
    assert any('"POST /at/inbound HTTP/1.1" 403' in line for line in lines), lines
    assert not any("token" in line for line in lines), lines
    assert any("2 workers x 2 threads" in line for line in lines), lines
    # None killed. The whole log on failure (a list's repr is cut short): which worker, when.
    assert not any("refused to gracefully stop" in line for line in lines), "\n".join(lines)


def test_a_killed_serve_takes_granian_with_it(redis_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HUDOOR_ENV": "test", "HUDOOR_VAR_DIR": str(tmp_path),
           "HUDOOR_DATABASE_URL": f"sqlite:///{tmp_path / 'hudoor.db'}", "HUDOOR_REDIS_URL": redis_url}
    server = subprocess.Popen([str(Path(sys.executable).parent / "hudoor"), "serve", "--port", str(port),
                               "--workers", "1", "--threads", "1"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        granian = _wait_for(lambda: c.pop() if len(c := _children(server.pid)) == 1 else None,
                            "granian", server)
        _wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=60), "an answer",
                  server)
        workers = _children(granian)
    finally:
        server.kill()
        server.wait(timeout=BOUND)
    deadline = time.monotonic() + BOUND
    while any(_alive(pid) for pid in {granian, *workers}):
        assert time.monotonic() < deadline, "granian outlived a killed `hudoor serve`"
        time.sleep(0.2)


def test_serve_refuses_bad_settings_before_starting_anything() -> None:
    from click.testing import CliRunner

    from gateway.cli import cli

    result = CliRunner().invoke(cli, ["serve"], env={"HUDOOR_WEB_WORKERS": "0", "HUDOOR_ENV": "test"})
    assert result.exit_code == 2
    assert "HUDOOR_WEB_WORKERS and HUDOOR_WEB_THREADS must be at least 1" in result.output
