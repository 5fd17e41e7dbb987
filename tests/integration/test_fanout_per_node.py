"""Fanout on the real Redis Cluster sends one script per primary, not one per
slot (a batch of followers spans nearly as many slots as followers), and when
the client's slot map is stale the calls that hit a moved slot are sent again
per slot, so nothing is lost. Skipped on a single Redis (REDIS_MODE=single)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterPipeline
from redis.crc import key_slot
from redis.exceptions import ClusterError, TryAgainError

from services.timeline.domain import Entry
from services.timeline.store import TimelineStore, active_key, home_key

USERS = 300


@pytest.fixture
async def users(cluster: RedisCluster) -> AsyncIterator[list[int]]:
    first = random.randrange(10**15, 9 * 10**15)
    ids = list(range(first, first + USERS))
    async with cluster.pipeline(transaction=False) as pipe:
        for user in ids:
            pipe.set(active_key(user), "1", ex=600)
        await pipe.execute()
    yield ids
    await cluster.delete(*(k for u in ids for k in (active_key(u), home_key(u))))


async def _homes_with(cluster: RedisCluster, users: list[int], entry: Entry) -> int:
    async with cluster.pipeline(transaction=False) as pipe:
        for user in users:
            pipe.zscore(home_key(user), entry.member)
        return sum(score is not None for score in await pipe.execute())


async def test_one_script_per_primary(cluster: RedisCluster, users: list[int],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    scripts: list[tuple[Any, ...]] = []
    queue = ClusterPipeline.execute_command

    def counting(self: ClusterPipeline, *args: Any, **kwargs: Any) -> Any:
        if args[0] == "EVAL":
            scripts.append(args)
        return queue(self, *args, **kwargs)

    monkeypatch.setattr(ClusterPipeline, "execute_command", counting)
    store = TimelineStore(cluster, capacity=800, inactive_after_seconds=600)
    entry = Entry(11 << 22, 1)
    assert await store.add_to_active_homes(users, entry) == USERS
    primaries = len(cluster.get_primaries())
    assert len({key_slot(active_key(u).encode()) for u in users}) > 10 * primaries
    assert len(scripts) == primaries
    assert await _homes_with(cluster, users, entry) == USERS


async def test_a_stale_slot_map_loses_no_follower(cluster: RedisCluster,
                                                  users: list[int]) -> None:
    """The client believes one follower's slot lives on another primary (as
    right after the slot moved there): that primary's script refuses the
    non-local key, and the group is sent again per slot, following MOVED."""
    slots = cluster.nodes_manager.slots_cache
    moved = key_slot(active_key(users[0]).encode())
    owner = slots[moved][0]
    other = next(n for n in cluster.get_primaries() if n.name != owner.name)
    slots[moved] = [other]
    store = TimelineStore(cluster, capacity=800, inactive_after_seconds=600)
    entry = Entry(12 << 22, 1)
    assert await store.add_to_active_homes(users, entry) == USERS
    assert await _homes_with(cluster, users, entry) == USERS


Node = tuple[Redis, str, str]  # a primary's own client, its node id, host:port


async def _cmd(node: Node, *args: Any) -> Any:
    return await node[0].execute_command(*args)  # type: ignore[no-untyped-call]


async def _primaries(cluster: RedisCluster) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for primary in cluster.get_primaries():
        client = Redis(host=primary.host, port=int(primary.port))
        node_id = (await client.execute_command("CLUSTER", "MYID")).decode()  # type: ignore[no-untyped-call]
        nodes[primary.name] = (client, node_id, primary.name)
    return nodes


async def _finish_move(everyone: list[Node], source: Node, target: Node, slot: int) -> None:
    """The rest of `redis-cli --cluster reshard` for a slot already split:
    every key left, then the new owner everywhere."""
    host, port = target[2].rsplit(":", 1)
    while keys := await _cmd(source, "CLUSTER", "GETKEYSINSLOT", slot, 100):
        await _cmd(source, "MIGRATE", host, port, "", 0, 5000, "KEYS", *keys)
    for node in everyone:
        await _cmd(node, "CLUSTER", "SETSLOT", slot, "NODE", target[1])


async def _begin_move(source: Node, target: Node, slot: int) -> None:
    await _cmd(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source[1])
    await _cmd(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target[1])


async def test_a_slot_split_mid_migration_loses_no_entry(cluster: RedisCluster,
                                                         users: list[int]) -> None:
    """A follower's activity marker has reached the importing node and its home
    has not. Sent there under ASKING, a per-node script would create a second
    home beside the real one (the home's own migration then fails, BUSYKEY);
    not redirected, it fails and its group goes per slot, where Redis answers
    TRYAGAIN until the slot is whole. Delivered again once it is (as JetStream
    redelivers a failed fanout), the entry is there and nothing was lost."""
    user = users[0]
    slot = key_slot(active_key(user).encode())
    nodes = await _primaries(cluster)
    everyone = list(nodes.values())
    source = nodes[cluster.nodes_manager.get_node_from_slot(slot).name]
    target = next(n for n in everyone if n is not source)
    old, new = Entry(21 << 22, 1), Entry(22 << 22, 1)
    store = TimelineStore(cluster, capacity=800, inactive_after_seconds=600)
    assert await store.add_to_active_homes([user], old) == 1
    stage = "owned"
    try:
        await _begin_move(source, target, slot)
        stage = "split"
        host, port = target[2].rsplit(":", 1)
        await _cmd(source, "MIGRATE", host, port, "", 0, 5000, "KEYS", active_key(user))
        with contextlib.suppress(TryAgainError, ClusterError):  # refused while split
            await store.add_to_active_homes([user], new)
        await _finish_move(everyone, source, target, slot)
        stage = "moved"
        assert await store.add_to_active_homes([user], new) == 1
        assert await target[0].zrange(home_key(user), 0, -1) == [old.member.encode(),
                                                                 new.member.encode()]
    finally:  # the slot back where it was, whatever failed
        if stage == "split":
            await _finish_move(everyone, source, target, slot)
        if stage != "owned":
            await _begin_move(target, source, slot)
            await _finish_move(everyone, target, source, slot)
        for node in everyone:
            await node[0].aclose()
