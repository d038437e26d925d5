"""gunicorn's access log, with Hudoor's config module, never shows a callback token."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_the_access_log_has_the_path_but_not_the_token(redis_url: str, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "access.log"
    env = {**os.environ, "HUDOOR_ENV": "test", "HUDOOR_VAR_DIR": str(tmp_path),
           "HUDOOR_DATABASE_URL": f"sqlite:///{tmp_path / 'hudoor.db'}", "HUDOOR_REDIS_URL": redis_url,
           "HUDOOR_DLR_CALLBACK_TOKEN": "secret-dlr-token-value"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:gateway.gunicorn_conf",
         "--workers", "1", "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log), "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a bound for a busy machine, not a measurement
        while True:
            try:
                resp = requests.post(f"http://127.0.0.1:{port}/at/delivery-reports"
                                     "?token=secret-dlr-token-value", data={"id": "x"}, timeout=60)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert resp.status_code == 400  # the token was accepted; the report lacks fields
        requests.post(f"http://127.0.0.1:{port}/at/inbound?token=wrong-token-value", timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=60)
    lines = log.read_text().splitlines()
    assert any('"POST /at/delivery-reports HTTP/1.1" 400' in line for line in lines), lines
    assert any('"POST /at/inbound HTTP/1.1" 403' in line for line in lines), lines
    assert not any("token" in line for line in lines), lines
