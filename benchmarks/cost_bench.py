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
from services.shared.stores import redis_client
from services.timeline.domain import Entry
from services.timeline.store import FANOUT_LAG_MS, active_key, home_key
from services.tweets.client.tweet_cache import GENERATION
from tests.support.bulk import load_followers

COUNT = 300
CONCURRENCY = 8
FOLLOWERS = 10_000
IDLE_SECONDS = 3.0
SETTLE_SECONDS = 3.0


# Where the CPU goes, for sizing each tier: programs by name prefix.
GROUPS = {"redis": ("redis",), "cassandra": ("cassandra",), "postgres": ("postgres",),
          "nats": ("nats",), "envoy": ("envoy",)}


def tier_of(program: str) -> str:
    for group, prefixes in GROUPS.items():
        if program.startswith(prefixes):
            return group
    return "services" if program not in ("minio", "jaeger", "meilisearch") else "other"


Busy = dict[str, float]  # CPU seconds by program (a service's extra processes apart)


def _busy(sampler: CpuSampler) -> Busy:
    return {program: ticks / TICKS for program, ticks in sampler.snapshot().per_program.items()}


class Window:
    """The CPU each program spent from its start, less what it burns idle over as long."""

    def __init__(self, sampler: CpuSampler, idle: Busy) -> None:
        self._sampler, self._idle = sampler, idle
        self._started, self._before = time.perf_counter(), _busy(sampler)

    def spent(self) -> Busy:
        elapsed, after = time.perf_counter() - self._started, _busy(self._sampler)
        return {p: max(after[p] - self._before.get(p, 0.0) - self._idle.get(p, 0.0) * elapsed,
                       0.0) for p in after}


def split_by_tier(spent: Busy, per: float, unit: str) -> str:
    """Cost per operation by tier, then by program (the visible ones): the tiers
    size the stores, the programs say where to cut."""
    tiers: Busy = {}
    for program, seconds in spent.items():
        tiers[tier_of(program)] = tiers.get(tier_of(program), 0.0) + seconds

    def line(costs: Busy) -> str:
        return " ".join(f"{name} {v * per:.2f}" for name, v in
                        sorted(costs.items(), key=lambda kv: -kv[1]) if v * per >= 0.05)
    return f"{unit} by tier [{line(tiers)}]   by program [{line(spent)}]"


async def _idle_rate(sampler: CpuSampler) -> Busy:
    """CPU seconds per second each program spends with no traffic."""
    before = _busy(sampler)
    await asyncio.sleep(IDLE_SECONDS)
    return {p: (v - before.get(p, 0.0)) / IDLE_SECONDS for p, v in _busy(sampler).items()}


async def _measure(sampler: CpuSampler, idle: Busy, count: int,
                   op: Callable[[int], Awaitable[None]]) -> tuple[float, str]:
    """Milliseconds of CPU per operation, and how it splits over tiers and programs."""
    todo = iter(range(count))

    async def worker() -> None:
        for i in todo:
            await op(i)

    window = Window(sampler, idle)
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    await asyncio.sleep(SETTLE_SECONDS)  # the work the operations started
    spent = window.spent()
    return 1000 * sum(spent.values()) / count, split_by_tier(spent, 1000 / count, "ms")


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

        async def user_tweets(i: int) -> None:
            r = await http.get(f"/v1/users/{people[(i + 1) % 8]['id']}/tweets?pageSize=20",
                               headers=bearer[i % 8])
            r.raise_for_status()

        async def search(i: int) -> None:
            r = await http.get(f"/v1/search/tweets?q=%23cost{i % 10}", headers=bearer[i % 8])
            r.raise_for_status()

        lines = [f"{'idle stack':<42} {1000 * sum(idle.values()):>9.1f} ms CPU per second"
                 " (subtracted, program by program)"]
        for name, op, count in (("create tweet", create, COUNT), ("like", like, COUNT),
                                ("follow (56 pairs, repeated)", follow, len(pairs)),
                                ("home page of 20 (warm)", home, COUNT),
                                ("user tweets, page of 20", user_tweets, COUNT),
                                ("search #hashtag", search, COUNT)):
            cost, split = await _measure(sampler, idle, count, op)
            lines.append(f"{name:<42} {cost:>9.2f} ms CPU per operation   (n={count})"
                         f"   {split}")
        lines += await _fanout(env, http, sampler, idle)
        reader = await account(http, "bench_tl_r0")  # the timeline bench's first reader
        lines += await _memory(env, int(reader["id"]))
    return lines


async def _fanout(env: dict[str, str], http: httpx.AsyncClient, sampler: CpuSampler,
                  idle: Busy) -> list[str]:
    author = await account(http, f"bcostf{int(time.time()) % 10**8}")  # <= 15 chars
    followers = await asyncio.to_thread(load_followers, env["PG_DSN"], int(author["id"]),
                                        FOLLOWERS)
    redis = redis_client.connect(env["REDIS_URL"])
    async with redis.pipeline(transaction=False) as pipe:
        for f in followers:
            pipe.set(active_key(f), "1", ex=600)
        await pipe.execute()
    await redis.delete(FANOUT_LAG_MS)
    window = Window(sampler, idle)
    r = await http.post("/v1/tweets", json={"content": "cost bench fanout"},
                        headers={"Authorization": f"Bearer {author['token']}"})
    r.raise_for_status()
    while not await redis.llen(FANOUT_LAG_MS):
        await asyncio.sleep(0.05)
    spent = window.spent()
    home = await redis.memory_usage(home_key(followers[0]))
    await redis.aclose()
    per = 1_000_000 / FOLLOWERS
    return [f"{'fanout, per follower (10k active followers)':<42}"
            f" {sum(spent.values()) * per:>9.1f} us CPU per insert"
            f"   (the tweet's own create included)   {split_by_tier(spent, per, 'us')}",
            f"{'a home timeline of one entry':<42} {home} bytes (MEMORY USAGE)"]


async def _memory(env: dict[str, str], reader: int) -> list[str]:
    """Bytes of a full cached timeline (the timeline bench's readers: 800 entries)
    and of a tweet-cache entry."""
    redis = redis_client.connect(env["REDIS_URL"])
    key = home_key(reader)
    entries = await redis.zcard(key)
    home = await redis.memory_usage(key) or 0
    members: list[bytes] = await redis.zrange(key, 0, 0)  # type: ignore[assignment]
    tweet_id = Entry.parse(members[0]).tweet_id if members else 0
    generation = await redis.get(GENERATION)
    tweet = await redis.memory_usage(f"tw:{int(generation or 0)}:{{{tweet_id}}}")
    await redis.aclose()
    return [f"{'a cached home timeline':<42} {home:>9} bytes for {entries} entries"
            f"   ({home / max(entries, 1):.0f} bytes per entry)",
            f"{'a tweet-cache entry':<42} {tweet or 0:>9} bytes"]


def run(env: dict[str, str]) -> list[str]:
    return asyncio.run(_costs(env))
