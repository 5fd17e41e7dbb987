"""Search benchmark (PostgreSQL backend; Meilisearch too when MEILISEARCH_URL is
set): index 100,000 tweets in the indexer's batch size, then query them."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg_pool import AsyncConnectionPool

from services.search.backend import SearchBackend, TweetDoc, TweetFilter
from services.search.meili_backend import MeilisearchBackend
from services.search.pg_backend import PostgresBackend

TWEETS = 100_000
BATCH = 500  # what the indexer writes at once under load
QUERIES = 300
BASE_ID = 6_000_000_000_000_000_000  # a range no real tweet uses; removed afterwards
VOCABULARY = [f"word{i}" for i in range(5000)]
HASHTAGS = [f"tag{i}" for i in range(300)]


def _docs(rng: random.Random) -> list[TweetDoc]:
    now = datetime.now(UTC)
    docs = []
    for i in range(TWEETS):
        # Zipf-like word choice, as in real text: a few words are very common.
        words = [VOCABULARY[min(int(rng.paretovariate(1.2)) - 1, 4999)] for _ in range(12)]
        tags = rng.sample(HASHTAGS, rng.randint(0, 2))
        docs.append(TweetDoc(BASE_ID + i, rng.randint(1, 5000), " ".join(words), tags, [],
                             now - timedelta(minutes=rng.randint(0, 60 * 24 * 7))))
    return docs


def _queries(rng: random.Random) -> list[TweetFilter]:
    queries = []
    for n in range(QUERIES):
        kind = n % 4
        if kind == 0:
            queries.append(TweetFilter(text=rng.choice(VOCABULARY[:2000])))
        elif kind == 1:
            queries.append(TweetFilter(text=" ".join(rng.sample(VOCABULARY[:200], 2))))
        elif kind == 2:
            queries.append(TweetFilter(hashtags=[rng.choice(HASHTAGS)]))
        else:  # one of the ten most common words: tens of thousands of matches
            queries.append(TweetFilter(text=rng.choice(VOCABULARY[:10])))
    return queries


async def _bench(name: str, backend: SearchBackend,
                 settle: Callable[[], Awaitable[None]] | None = None) -> list[str]:
    rng = random.Random(5)
    docs = _docs(rng)
    started = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        await backend.upsert_tweets(docs[i:i + BATCH])
    indexing = time.perf_counter() - started
    if settle:
        await settle()
    timings: list[float] = []
    common: list[float] = []
    for n, query in enumerate(_queries(rng)):
        t0 = time.perf_counter()
        await backend.search_tweets(query, None, 20)
        (common if n % 4 == 3 else timings).append((time.perf_counter() - t0) * 1000)
    timings.sort()
    common.sort()
    return [
        f"{'index 100k tweets (' + name + ')':<42} {TWEETS / indexing:>9.0f} tweets/s"
        f"   ({indexing:.1f} s, batches of {BATCH})",
        f"{'query, 20 results (' + name + ')':<42} p50 {statistics.median(timings):.1f} ms"
        f"   p99 {timings[int(len(timings) * 0.99) - 1]:.1f} ms   ({QUERIES} queries:"
        f" word, two words, hashtag)",
        f"{'query, a top-10 common word (' + name + ')':<42} p50 {statistics.median(common):.1f} ms"
        f"   p99 {common[int(len(common) * 0.99) - 1]:.1f} ms",
    ]


async def _run(env: dict[str, str]) -> list[str]:
    pool = AsyncConnectionPool(env["PG_DSN"], min_size=1, max_size=4, open=False)
    await pool.open(wait=True)
    async def vacuum() -> None:
        # What autovacuum does soon after a bulk load: merge GIN's pending list
        # and refresh statistics, so queries see the index's steady state.
        async with await psycopg.AsyncConnection.connect(env["PG_DSN"], autocommit=True) as c:
            await c.execute("VACUUM ANALYZE search.tweets")

    try:
        lines = await _bench("PostgreSQL", PostgresBackend(pool), vacuum)
    finally:
        await pool.close()
        with psycopg.connect(env["PG_DSN"], autocommit=True) as conn:
            conn.execute("DELETE FROM search.tweets WHERE tweet_id BETWEEN %s AND %s",
                         (BASE_ID, BASE_ID + TWEETS))
    if url := os.environ.get("MEILISEARCH_URL"):
        meili = MeilisearchBackend(url, os.environ.get("MEILISEARCH_API_KEY"))
        lines += await _bench("Meilisearch", meili)
        await meili.delete_tweets([BASE_ID + i for i in range(TWEETS)])
    return lines


def run(env: dict[str, str]) -> list[str]:
    return asyncio.run(_run(env))
