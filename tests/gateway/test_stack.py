"""`make run`'s stack: a second terminal's `hudoor` finds it, and a stopped process is named."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import Queue

from core.config import ROOT, Config
from core.runtime import Runtime
from digests import outbox
from digests.outbox import Draft
from gateway.cli import cli

STACK = ROOT / "scripts" / "stack.sh"
PASSED_ON = ("HUDOOR_REDIS_URL", "HUDOOR_DATABASE_URL", "HUDOOR_UPSTREAM_URL",
             "HUDOOR_SMS_PROVIDER", "HUDOOR_AT_BASE_URL", "HUDOOR_FAKE_NOW", "HUDOOR_ENV")


def _bash(script: str, env: dict[str, str], **kw) -> subprocess.Popen:  # type: ignore[type-arg]
    return subprocess.Popen(["bash", "-c", f"set -euo pipefail; source {STACK}; {script}"],
                            env={"PATH": os.environ["PATH"], **env}, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture
def second_terminal(monkeypatch, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A shell in the project folder that set none of the stack's settings itself."""
    for name in PASSED_ON:
        monkeypatch.delenv(name, raising=False)
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("HUDOOR_VAR_DIR", str(var))
    return var


def test_hudoor_in_a_second_terminal_uses_the_running_stack(config, second_terminal) -> None:  # type: ignore[no-untyped-def]
    stack = _bash(f'write_stack_file "{second_terminal}/stack.env"; echo ready; sleep 60',
                  {"HUDOOR_REDIS_URL": config.redis_url, "HUDOOR_DATABASE_URL": config.database_url})
    try:
        assert stack.stdout is not None and stack.stdout.readline().strip() == "ready"
        rt = Runtime(config)
        with rt.sessions() as s, s.begin():
            outbox.enqueue(s, [Draft("daily_digest", rt.clock().date(), "+201001234567", "ar", "حضور")])
        rt.close()
        current = CliRunner().invoke(cli, ["db", "current"])
        assert current.exit_code == 0, current.output
        assert current.output.strip() not in ("", "empty")  # the stack's migrated database
        requeued = CliRunner().invoke(cli, ["digests", "requeue"])
        assert requeued.exit_code == 0, requeued.output
        assert Queue("digests", connection=rt.redis).count == 1  # the stack's Redis, not var/
        assert not (second_terminal / "redis.db").exists()
    finally:
        stack.kill()
        stack.wait()
    assert Config.from_env().redis_url == ""  # the writer is gone: the file is ignored


def test_a_stopped_process_is_named_with_its_reason_and_the_rest_stop(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    run = _bash(f'''start "sleeper" "{tmp_path}/sleeper.log" sleep 60
start "RQ worker" "{log}" sh -c 'echo "redis.exceptions.ConnectionError: refused" >&2; exit 3'
write_stack_file "{tmp_path}/stack.env"
echo "${{pids[0]}}" >"{tmp_path}/sleeper.pid"
supervise''', {})
    _out, err = run.communicate(timeout=30)
    assert run.returncode == 1
    assert "make run: the RQ worker (pid " in err and "stopped: exit status 3" in err
    assert "redis.exceptions.ConnectionError: refused" in err  # the tail of its log
    sleeper = int((tmp_path / "sleeper.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(sleeper, 0)  # the rest were stopped, not orphaned
    assert not (tmp_path / "stack.env").exists()


def test_a_process_killed_by_a_signal_says_so(tmp_path: Path) -> None:
    run = _bash(f'''start "scheduler" "{tmp_path}/s.log" sh -c 'kill -TERM $$'
supervise''', {})
    _out, err = run.communicate(timeout=30)
    assert run.returncode == 1 and "the scheduler" in err and "killed by SIGTERM" in err
