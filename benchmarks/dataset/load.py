"""Generates the dataset and loads what is missing, with a progress bar."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tqdm import tqdm

from benchmarks.dataset import accounts_load
from benchmarks.dataset.graph import Dataset, Spec, Tweet, generate
from benchmarks.dataset.tweets_load import TweetLoader
from services.shared.config import ScyllaSettings
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.timeline.settings import TimelineSettings
from services.timeline.store import TimelineStore

WORKERS = 32  # chunks in flight
CHUNK = 16  # tweets per chunk: a few batches of rows, then one of index rows


@dataclass(frozen=True)
class LoadReport:
    data: Dataset
    seconds: float
    loaded_accounts: bool
    loaded_tweets: int

    def line(self) -> str:
        d = self.data
        likes = sum(len(t.likes) for t in d.tweets)
        retweets = sum(len(t.retweets) for t in d.tweets)
        replies = sum(1 for t in d.tweets if t.reply_to)
        return (f"dataset seed {d.spec.seed}: {len(d.users):,} users (+{len(d.lurkers):,}"
                f" follower-only), {len(d.follows):,} follows, celebrities above"
                f" {d.spec.celebrity_threshold:,} followers: {len(d.celebrities)};"
                f" {len(d.tweets):,} tweets ({replies:,} replies), {likes:,} likes,"
                f" {retweets:,} retweets; loaded {'accounts and ' if self.loaded_accounts else ''}"
                f"{self.loaded_tweets:,} tweets in {self.seconds:.1f} s")


def ensure(env: dict[str, str], *, users: int, tweets: int, seed: int) -> LoadReport:
    started = time.perf_counter()
    threshold = TimelineSettings().celebrity_threshold
    data = generate(Spec(users=users, tweets=tweets, seed=seed, celebrity_threshold=threshold))
    loaded_accounts = not accounts_load.loaded(env["PG_DSN"], data)
    if loaded_accounts:
        with tqdm(total=len(data.accounts) + len(data.follows), desc="users+follows",
                  unit="row", unit_scale=True) as bar:
            accounts_load.load(env["PG_DSN"], data, bar.update)
    count = asyncio.run(_tweets(env, data))
    asyncio.run(_mark_celebrities(env, data))
    return LoadReport(data, time.perf_counter() - started, loaded_accounts, count)


async def _tweets(env: dict[str, str], data: Dataset) -> int:
    settings = ScyllaSettings(scylla_hosts=env["SCYLLA_HOSTS"],
                              scylla_port=int(env["SCYLLA_PORT"]),
                              scylla_keyspace=env.get("SCYLLA_KEYSPACE", "twitter"))
    cql = await Cql.connect(settings, request_timeout=60)
    try:
        loader = await TweetLoader.open(cql, data)
        todo = await loader.missing(data)
        queue: asyncio.Queue[list[Tweet]] = asyncio.Queue()
        for i in range(0, len(todo), CHUNK):
            queue.put_nowait(todo[i:i + CHUNK])
        with tqdm(total=len(todo), desc="tweets", unit="tweet", unit_scale=True) as bar:
            async def worker() -> None:
                while not queue.empty():
                    chunk = queue.get_nowait()
                    await loader.load(chunk)
                    bar.update(len(chunk))

            await asyncio.gather(*(worker() for _ in range(WORKERS)))
        return len(todo)
    finally:
        await cql.close()


async def _mark_celebrities(env: dict[str, str], data: Dataset) -> None:
    """What fanout records on a celebrity's first tweet event, which the loader
    does not publish: without it, readers would fan them in like anyone else."""
    settings = TimelineSettings()
    redis = redis_client.connect(env["REDIS_URL"])
    store = TimelineStore(redis, capacity=settings.timeline_capacity,
                          inactive_after_seconds=settings.inactive_after_seconds)
    try:
        for celebrity in data.celebrities:
            await store.mark_celebrity(celebrity, True)
    finally:
        await redis.aclose()
