"""A few Redis commands in one round trip, below redis-py's per-command machinery.

Decision 0039, seventh pass.

A USSD hop makes two round trips (its session's load and its save). Through redis-py 8 a
command or a pipeline also pays for observability hooks that run with telemetry off, the
HIMPORT bookkeeping, response callbacks and, for a pipeline, a pool checkout and return:
on this box ~45 µs of CPU for the load's MGET and ~100 µs for the save's pipeline, against
~22 and ~32 µs for the same bytes sent here. This uses the same library's connection (its
packer, its hiredis reply parser, its connect-on-send, its Retry) and nothing above it.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis
from redis.connection import AbstractConnection
from redis.exceptions import ResponseError

try:
    from hiredis import pack_command as _hiredis_pack
except ImportError:  # redis-py without its C extras: the connection's own packer
    _hiredis_pack = None

Command = tuple[object, ...]  # e.g. ("SET", key, value, "EX", 60)


def round_trip(client: redis.Redis, commands: Sequence[Command]) -> list[object]:
    """Send `commands` in one write and return their replies, in order.

    On the client's own connection when it holds one (`single_connection_client`, as
    `Runtime.thread_redis`), else on one taken from its pool and given back. Replies are
    as the connection reads them (bytes, ints, lists: no response callbacks); a command
    the server refused gives its ResponseError in its place, as a pipeline's
    `execute(raise_on_error=False)` does. A dropped or timed-out connection is handled as
    the client handles a command: disconnect, then send everything again while its Retry
    allows (every caller sends commands that are safe to repeat), then the ConnectionError
    or TimeoutError — a RedisError — is raised.
    """
    conn: AbstractConnection | None = client.connection
    if conn is None:
        pooled = client.connection_pool.get_connection()
        try:
            return _send_and_read(pooled, commands)
        finally:
            client.connection_pool.release(pooled)
    with client.single_connection_lock:
        return _send_and_read(conn, commands)


def pack(conn: AbstractConnection, commands: Sequence[Command]) -> list[bytes]:
    """The commands in Redis's protocol, one buffer: what `conn.pack_commands` makes of
    them, packed by hiredis directly (redis-py's packer looks at every argument's type
    in Python first). Names are one word; arguments str (UTF-8), bytes or numbers."""
    if _hiredis_pack is None:
        return conn.pack_commands(commands)  # type: ignore[no-any-return]
    return [b"".join([_hiredis_pack(command) for command in commands])]


def _send_and_read(conn: AbstractConnection, commands: Sequence[Command]) -> list[object]:
    packed = pack(conn, commands)

    def once() -> list[object]:
        conn.send_packed_command(packed)  # connects first if the socket was dropped
        replies: list[object] = []
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except ResponseError as refused:  # read on: the connection stays in step
                replies.append(refused)
        return replies

    try:
        return conn.retry.call_with_retry(once, lambda _error: conn.disconnect())
    finally:
        if conn.should_reconnect():  # the server announced maintenance: as redis-py does
            conn.disconnect()


def raise_refused(replies: list[object]) -> list[object]:
    """Return `replies`, raising the first refused command's error (a pipeline's default)."""
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies
