"""A small HTTP/1.1 client on asyncio for one endpoint: POST on keep-alive connections.

The event-loop sender posts one short form a message and reads one short answer.
aiohttp did that at ~0.36 ms of CPU a message on this machine (its request and
response objects, header multidicts, tracing, cookie jar, timers); this does the same
exchange in a fraction of it (docs/BENCHMARKS.md, issue 16): the request's head is
built once, an answer is a status, its headers and a body by Content-Length or
chunked encoding, gzip/deflate decoded. TLS is asyncio's own.

Errors say what happened to the request, which is what the outbox needs:
``NotSent`` — no connection, nothing handed over; ``Lost`` — written, and the answer
did not come (timeout, connection closed): the peer may have it. Nothing is ever
resent here; a stale idle connection (closed by the peer while idle) is dropped before
it is used, never after a write.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from urllib.parse import urlsplit


class NotSent(OSError):
    """Could not connect: the request never left."""


class Lost(OSError):
    """The request was written; no (complete) answer came back."""


class Answer:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = False
        self.reusable = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is not None and not self.waiter.done():
            try:
                self._parse()
            except (ValueError, IndexError, zlib.error) as exc:  # not HTTP: the answer is lost
                self.reusable = False
                self.waiter.set_exception(Lost(f"unreadable answer: {exc}"))

    def eof_received(self) -> bool | None:
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(Lost(str(exc or "connection closed before the answer")))

    def _parse(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        version, status = lines[0].split(" ", 2)[:2]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        start = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            found = _dechunk(self.buffer, start)
            if found is None:
                return
            body, stop = found
        else:
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < start + length:
                return
            body, stop = bytes(self.buffer[start:start + length]), start + length
        del self.buffer[:stop]
        if version != "HTTP/1.1" or headers.get("connection", "").lower() == "close":
            self.reusable = False
        encoding = headers.get("content-encoding", "").lower()
        if encoding in ("gzip", "deflate"):
            body = zlib.decompress(body, 47 if encoding == "gzip" else zlib.MAX_WBITS)
        assert self.waiter is not None
        self.waiter.set_result(Answer(int(status), headers, body))


def _dechunk(buffer: bytearray, at: int) -> tuple[bytes, int] | None:
    """Return (body, end) of a complete chunked body starting at `at`, or None."""
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        at = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", at - 2)
            return (bytes(body), trailer_end + 4) if trailer_end >= 0 else None
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at:at + size]
        at += size + 2


class Endpoint:
    """POST to one URL over up to `connections` keep-alive connections."""

    def __init__(self, url: str, headers: list[tuple[str, str]], *, connect_timeout: float,
                 read_timeout: float, connections: int = 64) -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or ""
        secure = parts.scheme == "https"
        self._port = parts.port or (443 if secure else 80)
        self._ssl = ssl.create_default_context() if secure else None
        default = (secure and self._port == 443) or (not secure and self._port == 80)
        host = self._host if default else f"{self._host}:{self._port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"POST {path} HTTP/1.1", f"Host: {host}"]
        head += [f"{name}: {value}" for name, value in headers]
        self._head = "\r\n".join(head).encode("latin-1") + b"\r\nContent-Length: "
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(connections)
        self._open: set[_Connection] = set()

    def request_bytes(self, body: bytes) -> bytes:
        return b"%s%d\r\n\r\n%s" % (self._head, len(body), body)

    async def post(self, body: bytes) -> Answer:
        async with self._slots:
            conn = await self._connection()
            loop = asyncio.get_running_loop()
            conn.waiter = loop.create_future()
            assert conn.transport is not None
            conn.transport.write(self.request_bytes(body))
            timer = loop.call_later(self._read_timeout, _expire, conn)
            try:
                answer = await conn.waiter
            except BaseException:
                self._drop(conn)
                raise
            finally:
                timer.cancel()
                conn.waiter = None
            if conn.reusable and not conn.closed and not conn.buffer:
                self._idle.append(conn)
            else:
                self._drop(conn)
            return answer

    async def _connection(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:  # the peer may close an idle connection: never write to it
                return conn
            self._open.discard(conn)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, conn = await loop.create_connection(_Connection, self._host, self._port,
                                                       ssl=self._ssl)
        except (OSError, TimeoutError) as exc:
            raise NotSent(str(exc) or type(exc).__name__) from exc
        self._open.add(conn)
        return conn

    def _drop(self, conn: _Connection) -> None:
        self._open.discard(conn)
        if conn.transport is not None:
            conn.transport.close()

    def close(self) -> None:
        for conn in list(self._open):
            self._drop(conn)
        self._idle.clear()


def _expire(conn: _Connection) -> None:
    if conn.waiter is not None and not conn.waiter.done():
        conn.waiter.set_exception(Lost("no answer within the read timeout"))
