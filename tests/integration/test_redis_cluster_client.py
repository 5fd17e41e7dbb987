"""The cluster client (services/shared/stores/redis_client.py) under a burst of first
commands: a service that has just started gets its first requests at once."""

from __future__ import annotations

import asyncio
import time

import pytest
import uvloop
from redis.asyncio import RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.shared.stores import redis_client


async def _stall_the_event_loop() -> None:
    """What a loaded machine does to a process: the loop stops for a while."""
    while True:
        time.sleep(0.15)  # noqa: ASYNC251 (blocking the loop is the point)
        await asyncio.sleep(0.01)


async def test_a_burst_of_first_commands_on_a_fresh_client_all_succeed(
        stack_env: dict[str, str]) -> None:
    """redis-py routed a fresh client's first commands to a default node
    (MOVED each); enough MOVED replies made it close every connection, and
    commands in flight on them failed ("connection closed while in use").
    The burst here (on a slot the first node does not own) is what the
    ratelimit service got from the edge and failed in CI."""
    if not redis_client.is_cluster_url(stack_env["REDIS_URL"]):
        pytest.skip("a single Redis routes nothing")
    for attempt in range(5):
        redis = redis_client.connect(stack_env["REDIS_URL"], socket_timeout=5.0)
        assert isinstance(redis, RedisCluster)
        script = redis.register_script("return redis.call('INCR', KEYS[1])")
        key = f"test:{{burst-{attempt}-{time.time_ns()}}}:n"
        stall = asyncio.create_task(_stall_the_event_loop())
        try:
            results = await asyncio.gather(*(script(keys=[key]) for _ in range(40)),
                                           return_exceptions=True)
        finally:
            stall.cancel()
            await redis.aclose()
        errors = [r for r in results if isinstance(r, BaseException)]
        assert not errors, errors[:3]
        assert sorted(results) == list(range(1, 41))  # type: ignore[type-var]


async def _write_after_the_server_closed(host: str, port: int) -> None:
    connection = redis_client.HiredisPackedConnection(host=host, port=port)
    await connection.connect()  # type: ignore[no-untyped-call]
    assert connection._writer is not None
    connection._writer.transport.abort()  # what a killed node leaves the client holding
    with pytest.raises(RedisConnectionError):
        await connection.send_command("PING")
    assert not connection.is_connected


def test_a_write_on_a_closed_connection_is_a_connection_error_on_uvloop(
        stack_env: dict[str, str]) -> None:
    """Services run on uvloop, whose transports refuse a write after the peer
    closed with RuntimeError, not asyncio's OSError: a home page read while a
    Redis node was being killed answered 500 (an internal error) instead of
    falling back or answering 503 (the short chaos run caught it)."""
    host, _, port = stack_env["REDIS_URL"].split("://", 1)[1].split(",")[0].partition(":")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_write_after_the_server_closed(host, int(port.split("/")[0])))


async def test_a_slot_map_read_that_times_out_is_waited_out_like_a_failover(
        stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A restarted node answered a fresh slot-map read (COMMAND) after the
    socket timeout on a loaded machine: the TimeoutError was not one a
    failover wait rides out, and a command that should have waited failed
    (tests/integration/test_redis_failover_wait.py, once). Nothing of the
    caller's is sent before the map is known, so it is a ConnectionError."""
    if not redis_client.is_cluster_url(stack_env["REDIS_URL"]):
        pytest.skip("a single Redis has no slot map")
    monkeypatch.setenv("REDIS_FAILOVER_WAIT_SECONDS", "5")
    redis = redis_client.connect(stack_env["REDIS_URL"])
    assert isinstance(redis, redis_client.TracedRedisCluster)
    learn = redis.commands_parser.initialize
    slow = [RedisTimeoutError("Timeout reading from 127.0.0.1 (a node just restarted)")]

    async def slow_once(node: ClusterNode | None = None) -> None:
        if slow:
            raise slow.pop()
        await learn(node)

    monkeypatch.setattr(redis.commands_parser, "initialize", slow_once)
    key = f"test:{{slot-map-{time.time_ns()}}}:n"
    try:
        assert await redis.incr(key) == 1  # waited out, and counted once
        assert not slow
    finally:
        await redis.delete(key)
        await redis.aclose()
