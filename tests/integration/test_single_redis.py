"""The single-Redis deployment (REDIS_MODE=single, a redis:// URL) stays
supported: the same code on one plain redis-server. Multi-key scripts take
a whole batch in one call there, which is what these check."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from twitter.tweets.v1 import cache_pb2, tweets_pb2

from services.ratelimit.window import Bucket, SlidingWindow
from services.shared.stores import redis_client
from services.timeline.domain import Entry
from services.timeline.store import TimelineStore, active_key, home_key
from services.tweets.client.tweet_cache import TweetCache, Versioned
from tests.support.single_redis import single_redis


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[Redis]:
    async with single_redis(tmp_path) as url:
        client = redis_client.connect(url)
        assert isinstance(client, Redis)
        yield client
        await client.aclose()


async def test_fanout_and_a_home_page_on_one_redis(redis: Redis) -> None:
    store = TimelineStore(redis, capacity=800, inactive_after_seconds=600)
    users = list(range(1, 301))
    for user in users[::2]:  # the active half
        await redis.set(active_key(user), "1")
    entry = Entry(7 << 22, 99)
    assert await store.add_to_active_homes(users, entry) == 150
    assert await redis.zcard(home_key(2)) == 0
    start = await store.home_start(1, None, 20)
    assert start.active
    assert start.entries == [entry]


async def test_the_tweet_cache_on_one_redis(redis: Redis) -> None:
    cache, other = TweetCache(redis), TweetCache(redis)
    ids = [secrets.randbelow(10**15) + 1 for _ in range(20)]
    await cache.get(ids)
    await cache.changed([(t, Versioned(1, cache_pb2.CachedTweet(
        tweet=tweets_pb2.Tweet(tweet_id=t, content=f"c{t}")))) for t in ids])
    found = await other.get(ids)
    assert {t: e.tweet.content for t, e in found.items()} == {t: f"c{t}" for t in ids}


async def test_a_refused_request_counts_in_no_bucket_on_one_redis(redis: Redis) -> None:
    window = SlidingWindow(redis)
    wide, narrow = Bucket("rl:t:ip:{a}", 60, 5), Bucket("rl:t:user:{b}", 60, 1)
    assert (await window.hit([wide, narrow])).allowed
    assert not (await window.hit([wide, narrow])).allowed
    assert (await window.hit([wide])).outcomes[0].remaining == 3  # 2 of 5 used
