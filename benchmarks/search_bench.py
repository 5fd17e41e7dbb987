"""Search benchmark: both backends side by side on the same tweets (PostgreSQL
always; Meilisearch when MEILISEARCH_URL is set).

Per backend: the indexing rate through the indexer's write path (upserts in
the backend's batch size, each awaited), the time until a new tweet is
searchable while others stream in (from the indexer receiving it, its batching
delay included, to the first search that finds it), and query latency (one
query at a time) for a rare word, a common word, a hashtag, a phrase and
from:user. Meilisearch also reports its bulk load (the reindex path).

The tweets take an id range no real tweet uses (PostgreSQL: removed afterwards;
Meilisearch: indexes of their own, deleted afterwards). BENCH_SEARCH_TWEETS
sets the count (default 100,000).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from services.search.backend import SearchBackend, TweetDoc, TweetFilter
from services.search.batching import Batcher
from services.search.meili.backend import MeilisearchBackend
from services.search.postgres.backend import PostgresBackend
from services.search.settings import SearchSettings
from services.shared.stores.postgres import GuardedPool

TWEETS = int(os.environ.get("BENCH_SEARCH_TWEETS", "100000"))
QUERIES = 200  # per kind
PROBES = 100  # tweets timed until searchable
BACKGROUND_RATE = 200.0  # tweets/s written meanwhile
BASE_ID = 6_000_000_000_000_000_000
PROBE_BASE = BASE_ID + 900_000_000
AUTHORS = 5000
KINDS = ("rare word", "common word", "hashtag", "phrase", "from:user")


def _vocabulary(rng: random.Random) -> list[str]:
    """Made-up words of letters, 5 to 9 long, so both backends tokenize them alike."""
    words: set[str] = set()
    while len(words) < 5000:
        words.add("".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou")
                          for _ in range(rng.randint(2, 4))) + rng.choice("kmnrst"))
    return sorted(words)


@dataclass
class Dataset:
    docs: list[TweetDoc]
    vocabulary: list[str]
    hashtags: list[str]
    queries: dict[str, list[TweetFilter]] = field(default_factory=dict)


def dataset(seed: int = 5) -> Dataset:
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng)
    rng.shuffle(vocabulary)  # rank order: the first words are the most common
    hashtags = [f"tag{i}" for i in range(300)]
    now = datetime.now(UTC)
    docs = []
    for i in range(TWEETS):
        # Zipf-like word choice, as in real text: a few words are very common.
        words = [vocabulary[min(int(rng.paretovariate(1.2)) - 1, 4999)] for _ in range(12)]
        docs.append(TweetDoc(BASE_ID + i, rng.randint(1, AUTHORS), " ".join(words),
                             rng.sample(hashtags, rng.randint(0, 2)), [],
                             now - timedelta(minutes=rng.randint(0, 60 * 24 * 7)),
                             likes=int(rng.paretovariate(1.5)) - 1))
    data = Dataset(docs, vocabulary, hashtags)
    phrases = [" ".join(rng.choice(docs).content.split()[2:4]) for _ in range(QUERIES)]
    data.queries = {
        # Ranks 100 to 500: a handful to a few dozen tweets each.
        "rare word": [TweetFilter(text=rng.choice(vocabulary[100:500])) for _ in range(QUERIES)],
        "common word": [TweetFilter(text=rng.choice(vocabulary[:10])) for _ in range(QUERIES)],
        "hashtag": [TweetFilter(hashtags=[rng.choice(hashtags)]) for _ in range(QUERIES)],
        "phrase": [TweetFilter(text=f'"{p}"') for p in phrases],
        "from:user": [TweetFilter(author_ids=[rng.randint(1, AUTHORS)]) for _ in range(QUERIES)],
    }
    return data


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


@dataclass
class Result:
    index_rate: float = 0.0
    bulk_rate: float | None = None
    searchable: list[float] = field(default_factory=list)
    queries: dict[str, list[float]] = field(default_factory=dict)
    hits: dict[str, float] = field(default_factory=dict)


async def _searchable(backend: SearchBackend, vocabulary: list[str]) -> list[float]:
    """Seconds from the indexer taking a tweet to a search finding it, under load."""
    async def write(batch: dict[int, TweetDoc]) -> None:
        await backend.upsert_tweets(list(batch.values()))

    batcher: Batcher[int, TweetDoc] = Batcher(
        write, max_delay=SearchSettings.model_fields["index_batch_seconds"].default,
        max_items=backend.batch_size)
    rng = random.Random(9)
    stop = asyncio.Event()
    pending: set[asyncio.Task[None]] = set()

    def add(doc: TweetDoc) -> None:
        task = asyncio.create_task(batcher.add(doc.tweet_id, doc))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def background() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            add(TweetDoc(PROBE_BASE + 500_000 + n, 1, " ".join(rng.sample(vocabulary, 10)), [], [],
                         datetime.now(UTC)))
            await asyncio.sleep(1 / BACKGROUND_RATE)

    load = asyncio.create_task(background())
    latencies = []
    for n in range(PROBES):
        marker = "probe" + "".join(rng.choice("bcdfghklmnprstvz") for _ in range(10))
        started = time.perf_counter()
        add(TweetDoc(PROBE_BASE + n, 1, f"{marker} {rng.choice(vocabulary)}", [], [],
                     datetime.now(UTC)))
        while not (await backend.search_tweets(TweetFilter(text=marker), None, 1))[0]:
            await asyncio.sleep(0.005)
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(rng.uniform(0.05, 0.15))
    stop.set()
    await load
    await asyncio.gather(*pending)
    return latencies


async def _bench(backend: SearchBackend, data: Dataset,
                 settle: Callable[[], Awaitable[None]] | None = None) -> Result:
    result = Result()
    started = time.perf_counter()
    size = backend.batch_size
    for i in range(0, len(data.docs), size):
        await backend.upsert_tweets(data.docs[i:i + size])
    result.index_rate = len(data.docs) / (time.perf_counter() - started)
    if settle:
        await settle()
    for kind in KINDS:
        timings, hits = [], []
        for query in data.queries[kind]:
            t0 = time.perf_counter()
            page, _ = await backend.search_tweets(query, None, 20)
            timings.append((time.perf_counter() - t0) * 1000)
            hits.append(len(page))
        result.queries[kind] = timings
        result.hits[kind] = statistics.mean(hits)
    result.searchable = await _searchable(backend, data.vocabulary)
    return result


async def _postgres(env: dict[str, str], data: Dataset) -> Result:
    pool = GuardedPool(env["PG_DSN"], name="search-bench", min_size=1, max_size=8)
    await pool.open(wait=True)

    async def vacuum() -> None:
        # What autovacuum does soon after a bulk load: merge GIN's pending list
        # and refresh statistics, so queries see the index's steady state.
        async with await psycopg.AsyncConnection.connect(env["PG_DSN"], autocommit=True) as c:
            await c.execute("VACUUM ANALYZE search.tweets")

    try:
        return await _bench(PostgresBackend(pool), data, vacuum)
    finally:
        await pool.close()
        with psycopg.connect(env["PG_DSN"], autocommit=True) as conn:
            conn.execute("DELETE FROM search.tweets WHERE tweet_id >= %s AND tweet_id < %s",
                         (BASE_ID, BASE_ID + 10**12))


async def _meilisearch(url: str, api_key: str | None, data: Dataset) -> Result:
    backend = MeilisearchBackend(url, api_key, prefix="bench-")
    bulk = MeilisearchBackend(url, api_key, prefix="bench-bulk-")
    try:
        await backend.drop()
        result = await _bench(backend, data)
        started = time.perf_counter()
        rebuild = await bulk.rebuild()
        for i in range(0, len(data.docs), 10_000):
            await rebuild.add_tweets(data.docs[i:i + 10_000])
        await rebuild.swap()
        result.bulk_rate = len(data.docs) / (time.perf_counter() - started)
        return result
    finally:
        await backend.drop()
        await bulk.drop()
        await backend.close()
        await bulk.close()


def _table(results: dict[str, Result]) -> list[str]:
    names = list(results)
    rows: list[tuple[str, list[str]]] = [
        ("index, indexer path (tweets/s)", [f"{r.index_rate:,.0f}" for r in results.values()]),
        ("bulk load, reindex path (tweets/s)",
         [f"{r.bulk_rate:,.0f}" if r.bulk_rate else "-" for r in results.values()]),
        ("searchable after, p50 / p99 (ms)",
         [f"{_pct(r.searchable, .5) * 1000:,.0f} / {_pct(r.searchable, .99) * 1000:,.0f}"
          for r in results.values()]),
    ]
    for kind in KINDS:
        rows.append((f"query {kind}, p50 / p99 (ms)",
                     [f"{_pct(r.queries[kind], .5):.1f} / {_pct(r.queries[kind], .99):.1f}"
                      for r in results.values()]))
    for kind in KINDS:
        rows.append((f"  results per page, {kind}",
                     [f"{r.hits[kind]:.1f}" for r in results.values()]))
    width = max(len(label) for label, _ in rows)
    lines = [f"{TWEETS:,} tweets, {QUERIES} queries per kind (20 results, one at a time),"
             f" {PROBES} searchability probes under {BACKGROUND_RATE:.0f} tweets/s",
             f"{'':<{width}}  " + "  ".join(f"{n:>16}" for n in names)]
    lines += [f"{label:<{width}}  " + "  ".join(f"{c:>16}" for c in cells)
              for label, cells in rows]
    return lines


def _done(name: str, result: Result) -> None:
    """Each backend's figures as soon as it finishes (a long run may be cut short)."""
    print("\n".join(_table({name: result})), file=sys.stderr, flush=True)


async def _run(env: dict[str, str]) -> list[str]:
    data = dataset()
    results = {"PostgreSQL": await _postgres(env, data)}
    _done("PostgreSQL", results["PostgreSQL"])
    if url := env.get("MEILISEARCH_URL"):
        results["Meilisearch"] = await _meilisearch(url, env.get("MEILISEARCH_API_KEY"), data)
    return _table(results)


def run(env: dict[str, str]) -> list[str]:
    return asyncio.run(_run(env))
