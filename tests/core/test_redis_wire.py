"""core.redis_wire: a hop's few commands in one round trip on a client's own connection."""

from __future__ import annotations

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from core.redis_wire import pack, raise_refused, round_trip


@pytest.fixture
def mine(redis_url):  # type: ignore[no-untyped-def]
    shared = redis.Redis.from_url(redis_url)
    client = redis.Redis(connection_pool=shared.connection_pool, single_connection_client=True)
    yield client
    client.close()
    shared.close()


def test_replies_come_back_in_order_as_the_server_sent_them(mine) -> None:  # type: ignore[no-untyped-def]
    replies = round_trip(mine, [("SET", "k1", "one", "EX", 60), ("SADD", "s", 1, 2),
                                ("MGET", "k1", "missing"), ("DEL", "k1")])
    assert replies == [b"OK", 2, [b"one", None], 1]
    assert 0 < mine.ttl("s") or mine.ttl("s") == -1  # a plain command still works after it


def test_a_refused_command_gives_its_error_in_place_and_the_rest_still_run(mine) -> None:  # type: ignore[no-untyped-def]
    mine.set("text", "x")
    replies = round_trip(mine, [("EVALSHA", "0" * 40, 0), ("SADD", "text", 1), ("SET", "after", "y")])
    assert isinstance(replies[0], NoScriptError)
    assert isinstance(replies[1], ResponseError)  # WRONGTYPE
    assert replies[2] == b"OK" and mine.get("after") == b"y"  # the connection stayed in step
    with pytest.raises(NoScriptError):
        raise_refused(replies)


def _drop_every_other_client(port: int) -> None:
    killer = redis.Redis(port=port)
    assert killer.client_kill_filter(skipme=True) >= 1  # ours included
    killer.close()


def test_a_dropped_connection_fails_that_round_trip_as_a_command_would_and_the_next_reconnects(  # type: ignore[no-untyped-def]
        mine) -> None:
    """The runtime's client retries nothing (redis-py's from_url): the round trip that
    finds the connection dropped raises a RedisError (the hop's busy screen), as a command
    on the client does, and the next one connects afresh."""
    mine.ping()
    _drop_every_other_client(mine.connection.port)
    with pytest.raises(RedisConnectionError):
        round_trip(mine, [("SET", "k", "v")])
    assert round_trip(mine, [("SET", "k", "v"), ("GET", "k")]) == [b"OK", b"v"]


def test_with_a_retry_the_dropped_connection_is_made_again_and_the_commands_sent(redis_url) -> None:  # type: ignore[no-untyped-def]
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(redis_url, retry=Retry(NoBackoff(), 1), single_connection_client=True)
    client.ping()
    _drop_every_other_client(client.connection.port)
    assert round_trip(client, [("SET", "k", "v"), ("GET", "k")]) == [b"OK", b"v"]
    client.close()


def test_a_server_that_is_gone_raises_a_redis_error(redis_url) -> None:  # type: ignore[no-untyped-def]
    from tests.support.servers import free_port

    gone = redis.Redis(port=free_port(), single_connection_client=False, socket_connect_timeout=1)
    with pytest.raises(RedisConnectionError):
        round_trip(gone, [("GET", "k")])


def test_a_pooled_client_takes_one_connection_and_gives_it_back(redis_url) -> None:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(redis_url)
    assert round_trip(client, [("SET", "k", "v"), ("GET", "k")]) == [b"OK", b"v"]
    pool = client.connection_pool
    assert len(pool._in_use_connections) == 0 and len(pool._available_connections) == 1
    client.close()


_ARGS = st.one_of(st.text(max_size=20), st.binary(max_size=20), st.integers(-2**63, 2**63 - 1))


@given(st.lists(st.tuples(st.sampled_from(["SET", "MGET", "EVALSHA", "SADD", "DEL"]),
                          st.lists(_ARGS, max_size=5)).map(lambda c: (c[0], *c[1])), min_size=1, max_size=6))
def test_commands_are_packed_as_the_connection_packs_them(commands) -> None:  # type: ignore[no-untyped-def]
    conn = redis.Connection()  # packing needs no server
    assert b"".join(pack(conn, commands)) == b"".join(conn.pack_commands(commands))
