"""A thread's own Redis client (Runtime.thread_redis): one connection a thread, kept."""

from __future__ import annotations

import threading

import redis


def test_each_thread_keeps_its_own_connection_on_the_shared_pool(runtime) -> None:  # type: ignore[no-untyped-def]
    mine = runtime.thread_redis
    assert runtime.thread_redis is mine  # kept, not rebuilt a hop
    assert mine.connection_pool is runtime.redis.connection_pool
    other: list[redis.Redis] = []
    worker = threading.Thread(target=lambda: other.append(runtime.thread_redis))
    worker.start()
    worker.join()
    assert other[0] is not mine and other[0].connection is not mine.connection
    mine.set("k", "v")
    assert other[0].get("k") == b"v" == runtime.redis.get("k")  # one server, one keyspace


def test_a_replaced_client_is_followed_and_a_dropped_connection_comes_back(runtime) -> None:  # type: ignore[no-untyped-def]
    before = runtime.thread_redis
    before.set("k", "1")
    before.connection.disconnect()  # as when Redis restarts under a worker
    assert before.get("k") == b"1"
    runtime._redis = redis.Redis.from_url(runtime.config.redis_url)
    after = runtime.thread_redis
    assert after is not before and after.connection_pool is runtime.redis.connection_pool
    assert after.get("k") == b"1"
