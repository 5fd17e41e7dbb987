"""Fanout and home reads on the real Redis Cluster while `redis-cli --cluster
reshard` moves slots from one primary to another and back: redis-py follows
MOVED and ASK (and retries TRYAGAIN while a slot's keys are split), so no
entry is lost and no request fails. Skipped on a single Redis (REDIS_MODE=single).

Short by design (a few seconds): RESHARD_SLOTS slots each way, with the test's
readers placed in exactly those slots."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import RedisCluster
from redis.crc import key_slot

from services.timeline.domain import Entry
from services.timeline.store import TimelineStore, active_key, home_key

RESHARD_SLOTS = 64
MOVING_USERS = 200  # readers whose keys live in the slots that move
STILL_USERS = 50  # and some elsewhere
BATCH = 100  # followers per fanout call, as the worker pages them


async def _layout(client: RedisCluster) -> dict[str, tuple[str, list[int]]]:
    """Primary address -> (node id, its slots); a span is [start, end] or, for
    a lone slot, [slot]."""
    nodes: dict[str, Any] = await client.cluster_nodes()
    return {addr.split("@")[0]: (str(info["node_id"]), [
        s for span in info["slots"] for s in range(int(span[0]), int(span[-1]) + 1)])
        for addr, info in nodes.items() if "master" in info["flags"]}


async def _reshard(seed: str, source: str, target: str, slots: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        "/usr/bin/redis-cli", "--cluster", "reshard", seed, "--cluster-from", source,
        "--cluster-to", target, "--cluster-slots", str(slots), "--cluster-yes",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()[-2000:]


def _users_in(slots: set[int], count: int) -> list[int]:
    rng = random.Random()
    users: list[int] = []
    while len(users) < count:
        user = rng.randrange(10**15, 10**16)
        if (key_slot(active_key(user).encode()) in slots) == bool(slots):
            users.append(user)
    return users


@dataclass
class Traffic:
    """Fanout to every reader, entry after entry, and home page reads, until done."""

    store: TimelineStore
    users: list[int]
    written: list[Entry] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)
    reads: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def fan_out(self) -> None:
        for n in itertools.count(1):
            entry = Entry(n << 22, 1)
            try:
                for i in range(0, len(self.users), BATCH):
                    batch = self.users[i:i + BATCH]
                    assert await self.store.add_to_active_homes(batch, entry) == len(batch)
            except Exception as exc:  # every failure is the finding
                self.failures.append(exc)
            else:
                self.written.append(entry)
            if self.done.is_set():
                return

    async def read(self) -> None:
        rng = random.Random()
        while not self.done.is_set():
            try:
                await self.store.page(home_key(rng.choice(self.users)), before_id=None,
                                      count=20)
                self.reads += 1
            except Exception as exc:
                self.failures.append(exc)


def _readers(moving: set[int]) -> list[int]:
    """MOVING_USERS readers in the moving slots, STILL_USERS elsewhere."""
    still = [u for u in _users_in(set(), STILL_USERS * 2)
             if key_slot(active_key(u).encode()) not in moving]
    return _users_in(moving, MOVING_USERS) + still[:STILL_USERS]


async def test_fanout_and_reads_survive_resharding(cluster: RedisCluster) -> None:
    layout = await _layout(cluster)
    (seed, (source, source_slots)), (target_addr, (target, _)) = list(layout.items())[:2]
    # redis-cli moves the source's slots in ascending order.
    moving = set(sorted(source_slots)[:RESHARD_SLOTS])
    users = _readers(moving)
    store = TimelineStore(cluster, capacity=100_000, inactive_after_seconds=600)
    async with cluster.pipeline(transaction=False) as pipe:
        for user in users:
            pipe.set(active_key(user), "1", ex=600)
        await pipe.execute()

    traffic = Traffic(store, users)
    tasks = [asyncio.create_task(traffic.fan_out()), asyncio.create_task(traffic.read())]
    try:
        # Traffic flows before the first slot moves; the entry in progress when
        # the last one has moved still completes, so writes overlap the moves
        # however fast they are (a count of entries would depend on timing).
        async with asyncio.timeout(30):
            while not traffic.written and not traffic.failures:
                await asyncio.sleep(0.01)
        await _reshard(seed, source, target, RESHARD_SLOTS)
        moved = await _layout(cluster)
        assert moving <= set(moved[target_addr][1]), "the slots did not move"
        await _reshard(seed, target, source, RESHARD_SLOTS)  # and back
    finally:
        traffic.done.set()
        await asyncio.gather(*tasks)
    assert not traffic.failures, traffic.failures[:3]
    assert len(traffic.written) >= 2  # one before the moves, at least one across them
    assert traffic.reads > 0
    lost = await _missing(cluster, users, {e.member for e in traffic.written})
    assert not lost, lost
    await cluster.delete(*(k for u in users for k in (active_key(u), home_key(u))))


async def _missing(cluster: RedisCluster, users: list[int], members: set[str]
                   ) -> dict[int, int]:
    """How many of the written entries each user's home lacks (those lacking any)."""
    async with cluster.pipeline(transaction=False) as pipe:
        for user in users:
            pipe.zrange(home_key(user), 0, -1)
        homes = await pipe.execute()
    lost = {u: len(members - {m.decode() for m in home})
            for u, home in zip(users, homes, strict=True)}
    return {u: n for u, n in lost.items() if n}
