"""The same Redis work on the stack's Redis Cluster (3 primaries) and on one
plain redis-server, in one run, from this process (part of BENCH=timeline):

- warm home pages: the timeline service's read path (Reader, in process: the
  store, the tweet cache, the viewer's flags and relations), over the bench
  readers' timelines, copied key by key (DUMP/RESTORE) from the cluster to the
  single server so both hold the same warm state;
- fanout: TimelineStore.add_to_active_homes of one entry to 10,000 active
  followers in batches of 1,000 (as the worker pages them), 20 entries.

Rounds alternate (cluster, single, cluster, single) so that the machine's
background load falls on both alike; the figures are the sums."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import RedisCluster

from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores import redis_client
from services.timeline.domain import Entry
from services.timeline.hydrate import Hydrator
from services.timeline.reader import Reader
from services.timeline.store import (
    CELEBRITIES,
    TimelineStore,
    active_key,
    following_key,
    home_key,
)
from services.tweets.client.tweet_cache import GENERATION, TweetCache
from services.tweets.client.viewer_flags import ViewerFlags
from services.users.client.lists import ListAudiences
from services.users.client.relations import RelationsCache, relations_key
from tests.support.single_redis import single_redis

ROUNDS = 2
PAGES_PER_ROUND = 1500
CONCURRENCY = 16
FANOUT_FOLLOWERS = 10_000
FANOUT_BATCH = 1000
FANOUT_ENTRIES = 10


def _reader(redis: Any, users: UsersClient, tweets: TweetsClient) -> Reader:
    store = TimelineStore(redis, capacity=800, inactive_after_seconds=3600)
    hydrator = Hydrator(TweetCache(redis), ViewerFlags(redis), users, tweets)
    return Reader(store, users, tweets, hydrator, RelationsCache(redis, users),
                  ListAudiences(redis, users.list_audience))


async def _copy(source: Any, target: Any, keys: list[str]) -> None:
    for key in keys:
        dumped = await source.dump(key)
        if dumped is not None:
            ttl = max(0, int(await source.pttl(key)))
            await target.restore(key, ttl, dumped, replace=True)


async def _tweet_keys(source: Any, readers: list[int]) -> list[str]:
    generation = int(await source.get(GENERATION))
    ids: set[int] = set()
    for reader in readers:
        ids |= {Entry.parse(m).tweet_id for m in await source.zrange(home_key(reader), 0, -1)}
    return [f"tw:{generation}:{{{t}}}" for t in ids]  # TweetCache's key


async def _pages(reader: Reader, users: list[int], count: int) -> float:
    """Seconds for `count` warm home pages of 20, CONCURRENCY at a time."""
    todo = iter(range(count))

    async def worker(n: int) -> None:
        for i in todo:
            user = users[(i + n) % len(users)]
            await reader.home(user, user, 20, "")

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
    return time.perf_counter() - started


async def _fanout(store: TimelineStore, followers: list[int]) -> float:
    started = time.perf_counter()
    for n in range(FANOUT_ENTRIES):
        entry = Entry((int(time.time() * 1000) << 22) + n, 1)
        for i in range(0, len(followers), FANOUT_BATCH):
            await store.add_to_active_homes(followers[i:i + FANOUT_BATCH], entry)
    return time.perf_counter() - started


async def _compare(env: dict[str, str], readers: list[int], directory: Path) -> list[str]:
    token = AuthSettings().internal_token.get_secret_value()
    users_channel = internal_channel(env["USERS_ADDR"], token)
    tweets_channel = internal_channel(env["TWEETS_ADDR"], token)
    users, tweets = UsersClient(users_channel), TweetsClient(tweets_channel)
    cluster = redis_client.connect(env["REDIS_URL"])
    async with single_redis(directory) as url:
        single = redis_client.connect(url)
        backends = {"cluster": cluster, "single": single}
        on = {name: _reader(client, users, tweets) for name, client in backends.items()}
        for user in readers:  # materialise on the cluster, then copy its warm state
            await on["cluster"].home(user, user, 20, "")
        per_user = [k for u in readers for k in (home_key(u), active_key(u), following_key(u),
                                                 relations_key(u), f"vf:{{{u}}}")]
        await _copy(cluster, single, [GENERATION, CELEBRITIES, *per_user,
                                      *await _tweet_keys(cluster, readers)])
        followers = list(range(7 * 10**15, 7 * 10**15 + FANOUT_FOLLOWERS))
        for client in backends.values():
            async with client.pipeline(transaction=False) as pipe:
                for f in followers:
                    pipe.set(active_key(f), "1", ex=600)
                await pipe.execute()
        stores = {name: TimelineStore(client, capacity=800, inactive_after_seconds=600)
                  for name, client in backends.items()}
        for name in backends:  # warm both (hot tiers, connections) before timing
            await _pages(on[name], readers, 200)
        page_seconds = dict.fromkeys(backends, 0.0)
        fanout_seconds = dict.fromkeys(backends, 0.0)
        for _ in range(ROUNDS):
            for name in backends:
                page_seconds[name] += await _pages(on[name], readers, PAGES_PER_ROUND)
                fanout_seconds[name] += await _fanout(stores[name], followers)
        for client in backends.values():
            await client.delete(*(k for f in followers for k in (active_key(f), home_key(f))))
        await single.aclose()
    primaries = len(cluster.get_primaries()) if isinstance(cluster, RedisCluster) else 1
    await cluster.aclose()
    await users_channel.close()
    await tweets_channel.close()
    pages = {n: ROUNDS * PAGES_PER_ROUND / s for n, s in page_seconds.items()}
    inserts = {n: ROUNDS * FANOUT_ENTRIES * FANOUT_FOLLOWERS / s
               for n, s in fanout_seconds.items()}
    return [
        f"{'warm home pages in process, cluster':<42} {pages['cluster']:>9.1f} pages/s"
        f"   ({primaries} primaries)",
        f"{'warm home pages in process, one Redis':<42} {pages['single']:>9.1f} pages/s"
        f"   cluster / single x{pages['cluster'] / pages['single']:.2f}",
        f"{'fanout inserts in process, cluster':<42} {inserts['cluster']:>9.0f} inserts/s"
        f"   ({primaries} primaries)",
        f"{'fanout inserts in process, one Redis':<42} {inserts['single']:>9.0f} inserts/s"
        f"   cluster / single x{inserts['cluster'] / inserts['single']:.2f}",
    ]


def run(env: dict[str, str], readers: list[dict[str, str]]) -> list[str]:
    if not redis_client.is_cluster_url(env["REDIS_URL"]):
        return ["cluster / single Redis comparison: the stack runs one Redis (REDIS_MODE=single)"]
    with tempfile.TemporaryDirectory() as directory:
        return asyncio.run(_compare(env, [int(r["id"]) for r in readers], Path(directory)))
