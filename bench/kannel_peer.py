"""Kannel 1.4.5 as the ceiling bench's peer: bearerbox + smsbox + fakesmsc on loopback.

Installed from Debian's packages (`kannel`, `kannel-extras` for fakesmsc) when missing.
The same message count and concurrency as Hudoor's run: N one-segment messages through
smsbox's `/cgi-bin/sendsms` with `in_flight` requests open at once, done when fakesmsc (the
SMSC stand-in) has printed every one. Gateway CPU = bearerbox + smsbox process CPU time;
the stand-in's own (fakesmsc) is measured apart, to set beside Hudoor's stand-in.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from core.drill.cluster import wait_until
from tests.support.servers import port_open

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

_CONF = """\
group = core
admin-port = {admin}
admin-password = bench
smsbox-port = {boxc}
box-allow-ip = 127.0.0.1
log-level = 4
log-file = "{tmp}/bearerbox.log"

group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms}
log-level = 4
log-file = "{tmp}/smsbox.log"

group = sendsms-user
username = bench
password = bench
max-messages = 1
concatenation = false
"""


@dataclass(frozen=True)
class KannelRun:
    messages: int
    wall: float  # first request sent → last message at fakesmsc
    gateway_cpu: float  # bearerbox + smsbox, seconds
    client_cpu: float  # this process's sendsms client, seconds (not the gateway's)
    smsc_cpu: float  # fakesmsc, the SMSC stand-in, seconds (neither gateway nor client)
    refused: int

    @property
    def rate(self) -> float:
        return self.messages / self.wall if self.wall else 0.0


def ensure_installed() -> None:
    """Install Debian's kannel + kannel-extras if absent (the bench needs root for that)."""
    if all(Path(p).exists() for p in (BEARERBOX, SMSBOX, FAKESMSC)):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "kannel", "kannel-extras"], check=True,
                   env=env, stdout=subprocess.DEVNULL)


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_port(port: int, timeout: float = 20.0) -> None:
    wait_until(lambda: port_open(port), timeout, f"kannel: port {port}")


class Kannel:
    """bearerbox, fakesmsc and smsbox started on free loopback ports; stop() ends all three."""

    def __init__(self, free_port) -> None:  # type: ignore[no-untyped-def]
        ensure_installed()
        self._tmp = Path(tempfile.mkdtemp(prefix="kannel-bench-"))
        ports = {name: free_port() for name in ("admin", "boxc", "smsc", "sendsms")}
        self.sendsms_port = ports["sendsms"]
        conf = self._tmp / "kannel.conf"
        conf.write_text(_CONF.format(tmp=self._tmp, **ports))
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.bearerbox = subprocess.Popen([BEARERBOX, str(conf)], **quiet)  # type: ignore[call-overload]
        _wait_port(ports["smsc"])
        # fakesmsc sends no MO (-m 0 would exit; a huge interval sends none in a run) and
        # prints every MT message it receives: one line each, counted below.
        self.fakesmsc = subprocess.Popen(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(ports["smsc"]), "-i", "100000", "-m", "1",
             "100 200 text mo"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.smsbox = subprocess.Popen([SMSBOX, str(conf)], **quiet)  # type: ignore[call-overload]
        _wait_port(ports["sendsms"])
        self._received = 0
        self._cond = threading.Condition()
        threading.Thread(target=self._count, daemon=True).start()

    def _count(self) -> None:
        assert self.fakesmsc.stderr is not None
        for line in self.fakesmsc.stderr:  # its log: "Got message N: <from to text ...>"
            if b"text Hudoor" in line:
                with self._cond:
                    self._received += 1
                    self._cond.notify_all()

    def wait_received(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._received < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def gateway_cpu(self) -> float:
        return _cpu(self.bearerbox.pid) + _cpu(self.smsbox.pid)

    def smsc_cpu(self) -> float:
        return _cpu(self.fakesmsc.pid)

    def stop(self) -> None:
        for proc in (self.smsbox, self.fakesmsc, self.bearerbox):
            proc.terminate()
        for proc in (self.smsbox, self.fakesmsc, self.bearerbox):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self._tmp, ignore_errors=True)


async def _send_all(port: int, total: int, in_flight: int) -> int:
    """Send `total` sendsms requests over `in_flight` keep-alive connections; return refusals."""
    refused = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal refused
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in counter:
            number = f"2010{i:08d}"
            text = quote(f"Hudoor attendance {i}")
            writer.write((f"GET /cgi-bin/sendsms?username=bench&password=bench&from=Hudoor"
                          f"&to={number}"
                          f"&text={text} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 202") and not body.startswith(b"0:"):
                refused += 1
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return refused


def run_kannel(free_port, total: int, in_flight: int) -> KannelRun:  # type: ignore[no-untyped-def]
    """Start Kannel, push `total` messages through it, stop it; return what it took."""
    kannel = Kannel(free_port)
    try:
        cpu0, client0, smsc0 = kannel.gateway_cpu(), time.process_time(), kannel.smsc_cpu()
        start = time.monotonic()
        refused = asyncio.run(_send_all(kannel.sendsms_port, total, in_flight))
        if not kannel.wait_received(total - refused, timeout=300):
            raise SystemExit("kannel: fakesmsc did not receive every message")
        wall = time.monotonic() - start
        return KannelRun(total - refused, wall, kannel.gateway_cpu() - cpu0,
                         time.process_time() - client0, kannel.smsc_cpu() - smsc0, refused)
    finally:
        kannel.stop()


if __name__ == "__main__":
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.support.servers import free_port as _free

    run = run_kannel(_free, int(sys.argv[1]) if len(sys.argv) > 1 else 2000, 64)
    print(run, f"{run.rate:,.0f} msg/s, gateway {run.gateway_cpu / run.messages * 1e3:.3f} ms/msg,"
          f" fakesmsc {run.smsc_cpu / run.messages * 1e3:.3f} ms/msg")
