"""Writes that are not written again if lost (fanout into timelines,
idempotency records) go through replicated pipelines: with
REDIS_WRITE_REPLICAS set (TOPOLOGY=ha, Kubernetes), such a pipeline returns
only once that many replicas have its writes (WAIT on the connection that
sent them), so a primary killed right after cannot take them along when its
replica takes over. Without it, nothing is added to the call."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis, RedisCluster

from services.shared.stores import redis_client
from services.timeline.domain import Entry
from services.timeline.store import TimelineStore, active_key, home_key
from tests.support.single_redis import single_redis
from tests.support.wait import eventually


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[str, Redis]]:
    """A primary's URL and a client of its replica, linked up."""
    async with single_redis(tmp_path / "primary") as primary, \
            single_redis(tmp_path / "replica", replica_of=primary) as replica_url:
        replica = Redis.from_url(replica_url)

        async def linked() -> bool:
            info = await replica.info("replication")
            return info.get("master_link_status") == "up"
        await eventually(linked, within=20, what="the replica's link to its primary")
        yield primary, replica
        await replica.aclose()


def _client(url: str, monkeypatch: pytest.MonkeyPatch, *, replicas: int,
            timeout_ms: int = 10_000) -> redis_client.RedisClient:
    monkeypatch.setenv("REDIS_WRITE_REPLICAS", str(replicas))
    monkeypatch.setenv("REDIS_WRITE_REPLICAS_TIMEOUT_MS", str(timeout_ms))
    return redis_client.connect(url)


async def _stopped(replica: Redis) -> int:
    pid = int((await replica.info("server"))["process_id"])
    os.kill(pid, signal.SIGSTOP)
    return pid


async def test_fanout_returns_only_once_the_replica_has_the_entries(
        pair: tuple[str, Redis], monkeypatch: pytest.MonkeyPatch) -> None:
    primary_url, replica = pair
    client = _client(primary_url, monkeypatch, replicas=1)
    store = TimelineStore(client, capacity=800, inactive_after_seconds=600)
    for user in (1, 2, 3):
        await client.set(active_key(user), "1")
    entry = Entry(11 << 22, 99)
    pid = await _stopped(replica)
    try:
        fanout = asyncio.create_task(store.add_to_active_homes([1, 2, 3], entry))
        done, _ = await asyncio.wait([fanout], timeout=0.5)
        assert not done  # waiting for the replica, not acknowledged yet
    finally:
        os.kill(pid, signal.SIGCONT)
    assert await fanout == 3
    # Acknowledged: the replica has every entry already, nothing to wait for.
    for user in (1, 2, 3):
        assert await replica.zscore(home_key(user), entry.member) == entry.score
    await client.aclose()


async def test_without_write_replicas_a_pipeline_does_not_wait(
        pair: tuple[str, Redis], monkeypatch: pytest.MonkeyPatch) -> None:
    primary_url, replica = pair
    client = _client(primary_url, monkeypatch, replicas=0)
    pid = await _stopped(replica)
    try:
        async with redis_client.replicated_pipeline(client) as pipe:
            pipe.set("k", "v")
            pipe.get("k")
            # Answered while the replica cannot acknowledge anything.
            assert await asyncio.wait_for(pipe.execute(), timeout=10) == [True, b"v"]
    finally:
        os.kill(pid, signal.SIGCONT)
    await client.aclose()


async def test_a_node_without_a_replica_keeps_the_writes_and_counts_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with single_redis(tmp_path) as url:
        client = _client(url, monkeypatch, replicas=1, timeout_ms=50)
        before = _unreplicated()
        async with redis_client.replicated_pipeline(client) as pipe:
            pipe.set("k", "v")
            pipe.incr("n")
            assert await pipe.execute() == [True, 1]  # the WAIT's reply left out
        assert await client.get("k") == b"v"
        assert _unreplicated() == before + 1
        await client.aclose()


async def test_on_a_cluster_each_node_written_gets_one_wait(
        cluster: RedisCluster, stack_env: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not redis_client.is_cluster_url(stack_env["REDIS_URL"]):
        pytest.skip("a cluster's test")
    # The light stack's cluster has no replicas: each WAIT waits its 50 ms and
    # answers 0, and the writes stand.
    client = _client(stack_env["REDIS_URL"], monkeypatch, replicas=1, timeout_ms=50)
    assert isinstance(client, RedisCluster)
    await client.initialize()
    tag = time.time_ns()
    keys = [f"test:{{repl-{tag}-{i}}}:k" for i in range(40)]
    written = {client.get_node_from_key(k).name for k in keys[:20]}  # type: ignore[union-attr]
    nodes = cluster.get_primaries()
    waits = {n.name: await _wait_calls(cluster, n) for n in nodes}
    before = _unreplicated()
    async with redis_client.replicated_pipeline(client) as pipe:
        for key in keys[:20]:
            pipe.set(key, "1")
        assert await pipe.execute() == [True] * 20
    after = {n.name: await _wait_calls(cluster, n) for n in nodes}
    assert {name for name in after if after[name] > waits[name]} == written
    assert all(after[name] - waits[name] == 1 for name in written)
    assert _unreplicated() == before + len(written)
    assert await cluster.exists(*keys[:20]) == 20
    await client.aclose()


async def _wait_calls(cluster: RedisCluster, node: object) -> int:
    stats = await cluster.info("commandstats", target_nodes=node)
    return int(stats.get("cmdstat_wait", {}).get("calls", 0))


def _unreplicated() -> float:
    return float(redis_client.UNREPLICATED._value.get())
