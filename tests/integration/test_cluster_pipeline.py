"""Cluster pipelines and commands sent straight to their nodes (services/
shared/stores/cluster_pipeline.py) against the stack's 3-primary cluster: the
same results as redis-py's own cluster client, redirections followed, error
replies where redis-py puts them, and no connection left with replies unread."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from redis.asyncio import RedisCluster
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, PipelineStrategy
from redis.crc import key_slot
from redis.exceptions import ResponseError

from services.shared.stores import redis_client


@pytest.fixture
def redis_py_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times redis-py's own pipeline machinery ran."""
    runs: list[int] = []
    original = PipelineStrategy._execute

    async def counted(self: PipelineStrategy, *args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(PipelineStrategy, "_execute", counted)
    return runs


@pytest.fixture
def redis_py_commands(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The commands redis-py's own routing sent."""
    sent: list[tuple[Any, ...]] = []
    original = RedisCluster._execute_command

    async def counted(self: RedisCluster, target: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(args)
        return await original(self, target, *args, **kwargs)

    monkeypatch.setattr(RedisCluster, "_execute_command", counted)
    return sent


def _keys_on_every_node(cluster: RedisCluster, prefix: str) -> list[str]:
    """One key per primary, in the order of the primaries."""
    found: dict[str, str] = {}
    n = 0
    while len(found) < len(cluster.get_primaries()):
        key = f"{prefix}:{{{n}}}"
        node = cluster.nodes_manager.get_node_from_slot(key_slot(key.encode()))
        found.setdefault(node.name, key)
        n += 1
    return [found[node.name] for node in cluster.get_primaries()]


def _queue_reads(pipe: Any, keys: list[str]) -> None:
    a, b, c = keys[:3]
    pipe.get(f"{a}:s")
    pipe.zrevrangebyscore(f"{b}:z", "+inf", "-inf", start=0, num=10, withscores=True)
    pipe.smismember(f"{c}:set", ["x", "nope", "y"])
    pipe.zscore(f"{b}:z", "m1")
    pipe.zcard(f"{b}:z")
    pipe.eval("return {KEYS[1], ARGV[1]}", 1, f"{c}:e", "7")
    pipe.xread({f"{a}:x": "0-0"}, count=5)
    pipe.delete(f"{c}:missing")


async def test_results_are_redis_pys_own(cluster: RedisCluster,
                                         redis_py_runs: list[int]) -> None:
    keys = _keys_on_every_node(cluster, f"test:pipe:{time.time_ns()}")
    a, b, c = keys[:3]
    await cluster.set(f"{a}:s", "v")
    await cluster.zadd(f"{b}:z", {"m1": 1.5, "m2": 3})
    await cluster.sadd(f"{c}:set", "x", "y")
    await cluster.xadd(f"{a}:x", {"f": "1"})
    async with cluster.pipeline(transaction=False) as pipe:
        _queue_reads(pipe, keys)
        direct = await pipe.execute()
    assert redis_py_runs == []  # sent straight to the nodes
    async with cluster.pipeline(transaction=False) as pipe:
        _queue_reads(pipe, keys)
        own = await ClusterPipeline.execute(pipe)
    assert redis_py_runs == [1]
    assert direct == own
    assert direct[:6] == [b"v", [(b"m2", 3.0), (b"m1", 1.5)], [True, False, True], 1.5, 2,
                          [f"{c}:e".encode(), b"7"]]


async def test_a_moved_reply_is_followed(cluster: RedisCluster) -> None:
    """A slot map that sends a key to the wrong node (as while slots move):
    the node answers MOVED and the command is sent where it lives."""
    keys = _keys_on_every_node(cluster, f"test:pipe:moved:{time.time_ns()}")
    await cluster.set(f"{keys[0]}:s", "here")
    slot = key_slot(f"{keys[0]}:s".encode())
    owners = cluster.nodes_manager.slots_cache[slot]
    wrong = next(n for n in cluster.get_primaries() if n.name != owners[0].name)
    cluster.nodes_manager.slots_cache[slot] = [wrong]
    try:
        async with cluster.pipeline(transaction=False) as pipe:
            pipe.get(f"{keys[0]}:s")
            pipe.get(f"{keys[1]}:s")
            assert await pipe.execute() == [b"here", None]
    finally:
        cluster.nodes_manager.slots_cache[slot] = owners


async def test_an_error_reply_is_raised_or_returned_in_place(cluster: RedisCluster) -> None:
    keys = _keys_on_every_node(cluster, f"test:pipe:err:{time.time_ns()}")
    await cluster.set(f"{keys[0]}:s", "not a set")
    async with cluster.pipeline(transaction=False) as pipe:
        pipe.get(f"{keys[1]}:s")
        pipe.smismember(f"{keys[0]}:s", ["x"])
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await pipe.execute()
    async with cluster.pipeline(transaction=False) as pipe:
        pipe.smismember(f"{keys[0]}:s", ["x"])
        pipe.get(f"{keys[0]}:s")
        failed, value = await redis_client.execute_where_sent(pipe)
    assert isinstance(failed, ResponseError)
    assert value == b"not a set"


async def test_a_cancelled_pipeline_leaves_no_reply_unread(
        cluster: RedisCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cancelled while the first node's reply is awaited, after every node was
    written to: the other nodes' connections hold replies nobody read. Were
    they handed to the next caller, it would read this pipeline's replies as
    its own (here: the value of another key)."""
    keys = _keys_on_every_node(cluster, f"test:pipe:cancel:{time.time_ns()}")
    for key in keys:
        await cluster.set(f"{key}:s", f"old {key}")
        await cluster.set(f"{key}:t", f"new {key}")
    reading = asyncio.Event()
    parse = ClusterNode.parse_response

    async def first_read_begins(self: ClusterNode, *args: Any, **kwargs: Any) -> Any:
        reading.set()  # every node has been written to by now
        return await parse(self, *args, **kwargs)

    monkeypatch.setattr(ClusterNode, "parse_response", first_read_begins)
    spin = ("local t = redis.call('TIME'); local start = t[1] * 1000000 + t[2];"
            " repeat local n = redis.call('TIME') until n[1] * 1000000 + n[2] - start > 300000")

    async def slow_then_the_others() -> list[Any]:
        async with cluster.pipeline(transaction=False) as pipe:
            pipe.eval(spin, 1, f"{keys[0]}:spin")
            for key in keys[1:]:
                pipe.get(f"{key}:s")
            return await pipe.execute()

    task = asyncio.create_task(slow_then_the_others())
    await reading.wait()  # the first node (the spinning script's) is being read
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()
    for key in keys[1:]:  # on the other nodes
        assert await cluster.get(f"{key}:t") == f"new {key}".encode()


async def test_a_command_is_sent_straight_and_its_moved_reply_followed(
        cluster: RedisCluster, redis_py_commands: list[tuple[Any, ...]]) -> None:
    key = f"test:one:{{{time.time_ns()}}}"
    assert await cluster.set(key, "v")
    assert await cluster.eval("return redis.call('GET', KEYS[1])", 1, key) == b"v"
    assert redis_py_commands == []
    slot = key_slot(key.encode())
    owners = cluster.nodes_manager.slots_cache[slot]
    cluster.nodes_manager.slots_cache[slot] = [
        next(n for n in cluster.get_primaries() if n.name != owners[0].name)]
    try:
        assert await cluster.get(key) == b"v"
    finally:
        cluster.nodes_manager.slots_cache[slot] = owners
    assert redis_py_commands == [("GET", key)]  # MOVED: sent again by redis-py


async def test_direct_routing_can_be_turned_off(stack_env: dict[str, str],
                                                monkeypatch: pytest.MonkeyPatch,
                                                redis_py_runs: list[int]) -> None:
    """REDIS_DIRECT_ROUTING=false: everything through redis-py (to compare)."""
    if not redis_client.is_cluster_url(stack_env["REDIS_URL"]):
        pytest.skip("a single Redis routes nothing")
    monkeypatch.setenv("REDIS_DIRECT_ROUTING", "false")
    redis = redis_client.connect(stack_env["REDIS_URL"])
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.get("test:off:{1}")
            assert await pipe.execute() == [None]
    finally:
        await redis.aclose()
    assert redis_py_runs == [1]
