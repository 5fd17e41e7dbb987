"""A cluster client told to wait out failovers (REDIS_FAILOVER_WAIT_SECONDS,
set under TOPOLOGY=ha and in Kubernetes) rides through a node's absence: a
command and a transaction pipeline whose slot's node is down are answered once
it is back, within the wait, instead of failing. On the light stack's cluster
(no replicas) a restart of the node stands in for a replica's promotion."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import RedisCluster

from services.shared.stores import redis_client
from stack import topology
from tests.support.stack_control import control, wait_infra_ready

pytestmark = pytest.mark.e2e


async def test_a_command_and_a_transaction_wait_for_a_node_to_come_back(
        stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    if not redis_client.is_cluster_url(stack_env["REDIS_URL"]):
        pytest.skip("a single Redis has no failover")
    monkeypatch.setenv("REDIS_FAILOVER_WAIT_SECONDS", "20")
    redis = redis_client.connect(stack_env["REDIS_URL"])
    assert isinstance(redis, redis_client.TracedRedisCluster)
    key = f"test:{{failover-{time.time_ns()}}}:n"
    await redis.set(key, 1)
    node = redis.get_node_from_key(key)
    assert node is not None
    program = next(name for name, port, _ in topology.redis_nodes(topology.load())
                   if port == node.port)
    await control("stop", program)
    try:
        async def transaction() -> int:
            async with redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.get(key)
                return int((await pipe.execute())[1])

        async def increment() -> int:
            return int(await redis.incr(key))

        waiting = [asyncio.create_task(increment()), asyncio.create_task(transaction())]
        done, _ = await asyncio.wait(waiting, timeout=1.0)
        assert not done  # waiting for the node, not failed
    finally:
        await control("start", program)
    assert {await waiting[0], await waiting[1]} == {2, 3}
    await wait_infra_ready("redis", stack_env, 60)
    assert isinstance(redis, RedisCluster)
    await redis.aclose()
