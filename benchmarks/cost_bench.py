"""CPU per operation (BENCH=cost): each operation many times through the edge,
and the CPU time every process of the stack spent meanwhile (services, workers,
Envoy, the stores: /proc ticks, benchmarks/mixed/cpu.py), less what the stack
burns idle over as long, divided by the count. The asynchronous work an
operation starts (fanout, search indexing, notifications) is included: the
window closes once the stack is idle again.

docs/CAPACITY.md turns these figures into the cores and nodes the seeds' peak
needs. Fanout is measured per follower: one tweet of an author whose 10,000
followers are all active."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable

import httpx

from benchmarks.accounts import account
from benchmarks.mixed.cpu import TICKS, CpuSampler
from services.shared import redis_client
from services.timeline.store import FANOUT_LAG_MS, active_key
from tests.support.bulk import load_followers

COUNT = 300
CONCURRENCY = 8
FOLLOWERS = 10_000
IDLE_SECONDS = 3.0
SETTLE_SECONDS = 3.0


def _busy_seconds(sampler: CpuSampler) -> float:
    return sum(sampler.snapshot().per_program.values()) / TICKS


async def _idle_rate(sampler: CpuSampler) -> float:
    """CPU seconds per second the stack spends with no traffic."""
    before = _busy_seconds(sampler)
    await asyncio.sleep(IDLE_SECONDS)
    return (_busy_seconds(sampler) - before) / IDLE_SECONDS


async def _measure(sampler: CpuSampler, idle: float, count: int,
                   op: Callable[[int], Awaitable[None]]) -> float:
    """Milliseconds of CPU per operation."""
    todo = iter(range(count))

    async def worker() -> None:
        for i in todo:
            await op(i)

    started, busy = time.perf_counter(), _busy_seconds(sampler)
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    await asyncio.sleep(SETTLE_SECONDS)  # the work the operations started
    spent = _busy_seconds(sampler) - busy - idle * (time.perf_counter() - started)
    return 1000 * max(spent, 0.0) / count


async def _costs(env: dict[str, str]) -> list[str]:
    sampler = CpuSampler()
    async with httpx.AsyncClient(base_url=env["EDGE_URL"], timeout=60) as http:
        people = await asyncio.gather(*(account(http, f"bench_cost{i}") for i in range(8)))
        bearer = [{"Authorization": f"Bearer {p['token']}"} for p in people]
        posted: list[str] = []
        idle = await _idle_rate(sampler)

        async def create(i: int) -> None:
            r = await http.post("/v1/tweets", headers=bearer[i % 8],
                                json={"content": f"cost bench {i} #cost{i % 10} words"})
            r.raise_for_status()
            posted.append(r.json()["tweet"]["tweetId"])

        async def like(i: int) -> None:
            r = await http.post(f"/v1/tweets/{posted[i]}/like", headers=bearer[(i + 1) % 8])
            r.raise_for_status()

        pairs = [(a, b) for a, b in itertools.permutations(range(8), 2)]

        async def follow(i: int) -> None:
            a, b = pairs[i % len(pairs)]
            r = await http.post(f"/v1/users/{people[a]['id']}/follow", headers=bearer[a],
                                json={"targetUserId": people[b]["id"]})
            r.raise_for_status()

        async def home(i: int) -> None:
            r = await http.get(f"/v1/timeline/{people[i % 8]['id']}?pageSize=20",
                               headers=bearer[i % 8])
            r.raise_for_status()

        async def search(i: int) -> None:
            r = await http.get(f"/v1/search/tweets?q=%23cost{i % 10}", headers=bearer[i % 8])
            r.raise_for_status()

        lines = [f"{'idle stack':<42} {1000 * idle:>9.1f} ms CPU per second (subtracted)"]
        for name, op, count in (("create tweet", create, COUNT), ("like", like, COUNT),
                                ("follow (56 pairs, repeated)", follow, len(pairs)),
                                ("home page of 20 (warm)", home, COUNT),
                                ("search #hashtag", search, COUNT)):
            cost = await _measure(sampler, idle, count, op)
            lines.append(f"{name:<42} {cost:>9.2f} ms CPU per operation   (n={count})")
        lines.append(await _fanout(env, http, sampler, idle))
    return lines


async def _fanout(env: dict[str, str], http: httpx.AsyncClient, sampler: CpuSampler,
                  idle: float) -> str:
    author = await account(http, f"bench_costf{int(time.time()) % 10**6}")
    followers = await asyncio.to_thread(load_followers, env["PG_DSN"], int(author["id"]),
                                        FOLLOWERS)
    redis = redis_client.connect(env["REDIS_URL"])
    async with redis.pipeline(transaction=False) as pipe:
        for f in followers:
            pipe.set(active_key(f), "1", ex=600)
        await pipe.execute()
    await redis.delete(FANOUT_LAG_MS)
    started, busy = time.perf_counter(), _busy_seconds(sampler)
    r = await http.post("/v1/tweets", json={"content": "cost bench fanout"},
                        headers={"Authorization": f"Bearer {author['token']}"})
    r.raise_for_status()
    while not await redis.llen(FANOUT_LAG_MS):
        await asyncio.sleep(0.05)
    spent = _busy_seconds(sampler) - busy - idle * (time.perf_counter() - started)
    await redis.aclose()
    per = 1_000_000 * max(spent, 0.0) / FOLLOWERS
    return (f"{'fanout, per follower (10k active followers)':<42} {per:>9.1f} us CPU per insert"
            "   (the tweet's own create included)")


def run(env: dict[str, str]) -> list[str]:
    return asyncio.run(_costs(env))
