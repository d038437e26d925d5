"""Throwaway PostgreSQL clusters: the restore drill's target (and the test harness's).

A cluster is initdb'd in a temporary directory and started on a free loopback port. As
root (CI), postgres runs as an unprivileged user, since initdb and postgres refuse root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class ServerUnavailable(RuntimeError):
    """The binaries for a server are not on this machine."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Poll `check` until it is true; raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within {timeout}s")


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / name).exists():
            return str(base / name)
    return None


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster (initdb + postgres) on a free loopback port."""

    port: int
    datadir: Path
    proc: subprocess.Popen[bytes]
    run_as: str | None
    options: tuple[str, ...] = ()

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://hudoor@127.0.0.1:{self.port}/{dbname}"

    @staticmethod
    def _as_user(cmd: list[str], user: str | None) -> list[str]:
        # initdb and postgres refuse to run as root; CI runs as root.
        return ["runuser", "-u", user, "--", *cmd] if user else cmd

    @classmethod
    def start(cls, *, fast: bool = True) -> "PostgresCluster":
        initdb, postgres = pg_bin("initdb"), pg_bin("postgres")
        if not initdb or not postgres:
            raise ServerUnavailable("PostgreSQL binaries (initdb, postgres) not found")
        user = None
        base = Path(tempfile.mkdtemp(prefix="hudoor-pg-"))
        if os.geteuid() == 0:
            user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
            if user is None:
                raise ServerUnavailable("running as root and no unprivileged user to run postgres")
            pw = pwd.getpwnam(user)
            os.chown(base, pw.pw_uid, pw.pw_gid)
        datadir = base / "data"
        subprocess.run(cls._as_user([initdb, "-D", str(datadir), "-U", "hudoor", "-A", "trust",
                                     "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], user),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        port = free_port()
        opts = ["-c", "listen_addresses=127.0.0.1", "-p", str(port), "-k", str(base),
                "-c", "max_connections=200", "-c", "shared_buffers=512MB",
                "-c", "work_mem=32MB", "-c", "maintenance_work_mem=256MB"]
        if fast:  # throwaway data: durability buys nothing here
            opts += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"]
        proc = subprocess.Popen(cls._as_user([postgres, "-D", str(datadir), *opts], user),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cluster = cls(port, datadir, proc, user, tuple(opts))
        wait_until(cluster._ready, 30, "postgres")
        return cluster

    def crash(self) -> None:
        """Stop the server at once, as a crash would (`pg_ctl stop -m immediate`)."""
        pg_ctl = pg_bin("pg_ctl")
        assert pg_ctl is not None
        subprocess.run(self._as_user([pg_ctl, "-D", str(self.datadir), "-m", "immediate", "-w",
                                      "stop"], self.run_as),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.proc.wait(30)

    def restart(self) -> None:
        """Start the server again on the same data and port (after `crash`)."""
        postgres = pg_bin("postgres")
        assert postgres is not None
        self.proc = subprocess.Popen(self._as_user([postgres, "-D", str(self.datadir), *self.options],
                                                   self.run_as),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._ready, 60, "postgres")

    def _ready(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(host="127.0.0.1", port=self.port, user="hudoor",
                                 dbname="postgres", connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create a database and return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="hudoor", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
