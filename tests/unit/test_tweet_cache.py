"""TweetCache (services/tweets/client/tweet_cache.py) on fakeredis with a fake
clock: hits and misses per tier, versioned fills, invalidation across
processes through the stream, generations (lost, bumped after an outage),
"unknown" entries, TTLs, media expiry, and Redis down. Several TweetCache
objects on one fake server stand for several processes. The same guarantees
end to end, through the tweets service and Redis Cluster, are
tests/integration/test_tweet_cache.py."""

from __future__ import annotations

from typing import Any

import pytest
from twitter.tweets.v1 import cache_pb2, tweets_pb2

from services.shared.resilience.breaker import CircuitBreaker
from services.shared.stores.redis_client import AnyPipeline
from services.tweets.client.tweet_cache import (
    GENERATION,
    INVALIDATIONS,
    SYNC_BATCH,
    UNKNOWN_MS,
    HotTier,
    TweetCache,
    Versioned,
)
from tests.fakes.clock import FakeClock
from tests.fakes.redis import FakeRedisServer

HOT_TTL = 30.0
WARM_TTL = 600
T1, T2, T3 = 101, 102, 103


def view(tweet_id: int, content: str = "", *, media_expire_ms: int = 0,
         deleted: bool = False) -> cache_pb2.CachedTweet:
    return cache_pb2.CachedTweet(
        tweet=tweets_pb2.Tweet(tweet_id=tweet_id, content=content or f"tweet {tweet_id}"),
        media_expire_ms=media_expire_ms, deleted=deleted)


class Processes:
    """TweetCaches sharing one fake Redis and one fake clock."""

    def __init__(self) -> None:
        self.server = FakeRedisServer()
        self.clock = FakeClock()
        self.redis = self.server.client()

    def cache(self, *, hot_size: int = 1000) -> TweetCache:
        return TweetCache(self.server.client(), hot_size=hot_size, hot_ttl_seconds=HOT_TTL,
                          warm_ttl_seconds=WARM_TTL,
                          breaker=CircuitBreaker("test_tweet_cache", failures=1,
                                                 reset_seconds=3600),
                          clock=self.clock.time, monotonic=self.clock.monotonic)

    async def warm_keys(self) -> list[bytes]:
        keys: list[bytes] = await self.redis.keys("tw:*:{*}")  # type: ignore[assignment]
        return keys

    async def drop_warm(self) -> None:
        """Empties the warm tier behind every process's back (no invalidation):
        whatever is still found comes from a hot tier."""
        for key in await self.warm_keys():
            await self.redis.delete(key)


@pytest.fixture
def procs() -> Processes:
    return Processes()


async def contents(cache: TweetCache, *ids: int) -> dict[int, str]:
    return {t: e.tweet.content for t, e in (await cache.get(list(ids))).items()}


async def started(cache: TweetCache) -> TweetCache:
    """A cache that has read its generation (fill writes nothing before)."""
    await cache.get([1])
    return cache


# Misses, fills, hits -----------------------------------------------------------------------


async def test_nothing_asked_nothing_read(procs: Processes) -> None:
    cache = procs.cache()
    assert await cache.get([]) == {}
    assert not await procs.redis.exists(GENERATION)


async def test_a_miss_then_a_fill_is_a_hit_for_every_process(procs: Processes) -> None:
    one, other = procs.cache(), procs.cache()
    assert await one.get([T1]) == {}
    await one.fill([(T1, Versioned(1, view(T1, "hello")))])
    assert await contents(other, T1) == {T1: "hello"}
    assert await contents(one, T1) == {T1: "hello"}


async def test_a_fill_before_the_cache_started_writes_nothing(procs: Processes) -> None:
    cache = procs.cache()
    await cache.fill([(T1, Versioned(1, view(T1)))])
    assert await procs.warm_keys() == []


async def test_only_the_ids_found_are_answered_once_each(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1))), (T3, Versioned(1, view(T3)))])
    assert sorted(await cache.get([T3, T1, T2, T1])) == [T1, T3]


async def test_a_deleted_tweet_is_a_hit_marked_deleted(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.changed([(T1, Versioned(1, view(T1, deleted=True)))])
    assert (await procs.cache().get([T1]))[T1].deleted


@pytest.mark.parametrize(("first", "second", "kept"), [
    (2_000, 1_000, "first"),   # a slow reader's late fill of an older read
    (2_000, 2_000, "first"),   # same version: nothing newer to say
    (1_000, 2_000, "second"),
])
async def test_an_entry_is_replaced_only_by_a_strictly_newer_version(
        procs: Processes, first: int, second: int, kept: str) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(first, view(T1, "first")))])
    await cache.fill([(T1, Versioned(second, view(T1, "second")))])
    assert await contents(procs.cache(), T1) == {T1: kept}


# The hot tier --------------------------------------------------------------------------------


async def test_a_hit_is_kept_hot_in_process(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1)))])
    await cache.get([T1])
    await procs.drop_warm()
    assert T1 in await cache.get([T1])
    assert T1 not in await procs.cache().get([T1])


async def test_a_hot_entry_expires_after_its_ttl(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1)))])
    await cache.get([T1])
    await procs.drop_warm()
    procs.clock.advance(HOT_TTL - 0.001)
    assert T1 in await cache.get([T1])
    procs.clock.advance(0.002)
    assert T1 not in await cache.get([T1])


async def test_the_hot_tier_holds_at_most_its_size_least_recently_used_out(
        procs: Processes) -> None:
    cache = await started(procs.cache(hot_size=2))
    await cache.fill([(t, Versioned(1, view(t))) for t in (T1, T2, T3)])
    for tweet_id in (T1, T2, T3):
        await cache.get([tweet_id])
    await procs.drop_warm()
    assert sorted(await cache.get([T1, T2, T3])) == [T2, T3]


async def test_another_processs_change_drops_the_hot_copy(procs: Processes) -> None:
    reader, writer = procs.cache(), procs.cache()
    await started(reader)
    await reader.fill([(T1, Versioned(1, view(T1, "old")))])
    assert await contents(reader, T1) == {T1: "old"}  # hot now
    await started(writer)
    await writer.changed([(T1, Versioned(2, view(T1, "new")))])
    assert await contents(reader, T1) == {T1: "new"}


async def test_a_value_read_beside_its_own_invalidation_is_not_kept_hot(
        procs: Processes) -> None:
    """On a cluster a lookup's stream read and its entry read answer from
    different nodes, in no order: here the change's invalidation is read, but
    the entry as it was before the change's write landed. Kept hot, the old
    value would be served until its hot TTL, the invalidation spent (a quote
    count of 9 read after twelve quotes had returned, once in CI)."""
    reader, writer = await started(procs.cache()), await started(procs.cache())
    await writer.fill([(T1, Versioned(1, view(T1, "old")))])
    await procs.redis.xadd(INVALIDATIONS, {"ids": str(T1)})  # the stream's node first
    assert await contents(reader, T1) == {T1: "old"}  # the entry's node not yet
    await writer.created([(T1, Versioned(2, view(T1, "new")))])  # now it has landed
    assert await contents(reader, T1) == {T1: "new"}


async def test_a_change_leaves_other_hot_entries_alone(procs: Processes) -> None:
    reader, writer = await started(procs.cache()), await started(procs.cache())
    await reader.fill([(T1, Versioned(1, view(T1))), (T2, Versioned(1, view(T2)))])
    await reader.get([T1, T2])
    await writer.changed([(T2, Versioned(2, view(T2, "new")))])
    await procs.redis.delete(*await procs.warm_keys())
    await writer.changed([(T2, Versioned(3, view(T2, "newer")))])
    assert await contents(reader, T1, T2) == {T1: f"tweet {T1}", T2: "newer"}


@pytest.mark.parametrize(("behind", "still_hot"), [(SYNC_BATCH - 1, True),
                                                   (SYNC_BATCH, False)])
async def test_a_reader_too_far_behind_the_stream_drops_its_whole_hot_tier(
        procs: Processes, behind: int, still_hot: bool) -> None:
    reader = await started(procs.cache())
    await reader.fill([(T1, Versioned(1, view(T1)))])
    await reader.get([T1])
    async with procs.redis.pipeline(transaction=False) as pipe:
        for n in range(behind):  # changes of other tweets
            pipe.xadd(INVALIDATIONS, {"ids": str(10_000 + n)})
        await pipe.execute()
    await procs.drop_warm()
    assert (T1 in await reader.get([T1])) is still_hot


async def test_a_change_made_here_drops_the_hot_copy_at_once(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1, "old")))])
    await cache.get([T1])
    await cache.changed([(T1, Versioned(2, view(T1, "new")))])
    assert await contents(cache, T1) == {T1: "new"}


# TTLs and media expiry -----------------------------------------------------------------------


async def test_entries_live_the_warm_ttl(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1)))])
    (key,) = await procs.warm_keys()
    assert WARM_TTL * 1000 - 1000 < await procs.redis.pttl(key) <= WARM_TTL * 1000


@pytest.mark.parametrize(("media_expire_ms", "extended"), [(0, True), (1, False)])
async def test_a_hit_extends_entries_without_media_only(
        procs: Processes, media_expire_ms: int, extended: bool) -> None:
    cache = await started(procs.cache())
    expires = procs.clock.ms() + 3_600_000 if media_expire_ms else 0
    await cache.fill([(T1, Versioned(1, view(T1, media_expire_ms=expires)))])
    (key,) = await procs.warm_keys()
    await procs.redis.pexpire(key, 5_000)
    assert T1 in await procs.cache().get([T1])
    assert (await procs.redis.pttl(key) > 5_000) is extended


async def test_an_entry_whose_media_urls_expired_is_a_miss(procs: Processes) -> None:
    cache = await started(procs.cache())
    expires = procs.clock.ms() + 10_000
    await cache.fill([(T1, Versioned(1, view(T1, media_expire_ms=expires)))])
    reader = procs.cache()
    assert T1 in await reader.get([T1])
    procs.clock.advance(11)
    assert T1 not in await procs.cache().get([T1])


async def test_a_hot_entry_whose_media_urls_expired_is_a_miss(procs: Processes) -> None:
    cache = await started(procs.cache())
    expires = procs.clock.ms() + 10_000
    await cache.fill([(T1, Versioned(1, view(T1, media_expire_ms=expires)))])
    assert T1 in await cache.get([T1])  # hot now, for HOT_TTL
    procs.clock.advance(11)
    assert T1 not in await cache.get([T1])


# Generations -----------------------------------------------------------------------------------


async def test_a_new_redis_starts_the_generation_at_the_clock(procs: Processes) -> None:
    await started(procs.cache())
    assert int(await procs.redis.get(GENERATION) or 0) == procs.clock.ms()


async def test_a_lost_generation_never_brings_old_entries_back(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.changed([(T1, Versioned(1_000, view(T1)))])
    assert T1 in await cache.get([T1])
    before = int(await procs.redis.get(GENERATION) or 0)
    procs.clock.advance(1)
    await procs.redis.delete(GENERATION)  # evicted, or a Redis without persistence restarted
    assert T1 not in await cache.get([T1])  # hot copy dropped, new generation
    assert int(await procs.redis.get(GENERATION) or 0) > before


async def test_another_processs_generation_bump_retires_every_entry(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1)))])
    assert T1 in await cache.get([T1])
    await procs.redis.incr(GENERATION)
    assert await cache.get([T1]) == {}


async def test_a_change_redis_missed_retires_every_older_entry_once_it_is_back(
        procs: Processes) -> None:
    writer, reader = await started(procs.cache()), await started(procs.cache())
    await writer.fill([(T1, Versioned(1, view(T1, "before")))])
    procs.server.down()
    await writer.changed([(T1, Versioned(2, view(T1, "during")))])  # lost
    procs.server.up()
    assert await contents(reader, T1) == {T1: "before"}  # stale until the bump
    await writer.retry_pending()
    assert await reader.get([T1]) == {}
    await writer.retry_pending()  # nothing pending: no second bump
    generation = await procs.redis.get(GENERATION)
    await writer.retry_pending()
    assert await procs.redis.get(GENERATION) == generation


async def test_the_next_change_bumps_the_generation_first(procs: Processes) -> None:
    writer = await started(procs.cache())
    await writer.fill([(T2, Versioned(1, view(T2)))])
    procs.server.down()
    await writer.changed([(T1, Versioned(2, view(T1)))])
    procs.server.up()
    writer.breaker.succeeded()  # the breaker's period is over
    await writer.changed([(T3, Versioned(3, view(T3, "after")))])
    reader = procs.cache()
    assert await contents(reader, T1, T2, T3) == {T3: "after"}


# Unknown entries -------------------------------------------------------------------------------


async def test_an_unknown_entry_is_a_miss_that_no_older_fill_replaces(procs: Processes) -> None:
    cache = await started(procs.cache())
    old = view(T1, "old")
    await cache.changed([(T1, Versioned(1_000, old))])
    assert T1 in await cache.get([T1])
    # A change committed, but its new view could not be read: unknown, everywhere.
    await cache.unknown([T1])
    other = procs.cache()
    assert T1 not in await cache.get([T1])
    assert T1 not in await other.get([T1])
    # A reader that read the tweet before the change cannot put it back.
    now_us = int(procs.clock.time() * 1_000_000)
    await other.fill([(T1, Versioned(now_us - 1_000_000, old))])
    assert T1 not in await other.get([T1])
    (key,) = await procs.warm_keys()
    assert 0 < await procs.redis.pttl(key) <= UNKNOWN_MS  # then readers fill it again


async def test_a_fill_read_after_the_unknown_mark_replaces_it(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.unknown([T1])
    procs.clock.advance(1)
    await cache.fill([(T1, Versioned(int(procs.clock.time() * 1_000_000), view(T1, "new")))])
    assert await contents(procs.cache(), T1) == {T1: "new"}


# What changed recently --------------------------------------------------------------------------


async def test_recently_changed_is_newest_first_and_each_once(procs: Processes) -> None:
    cache = await started(procs.cache())
    for tweet_id in (T1, T2, T1, T3):
        await cache.changed([(tweet_id, Versioned(1, view(tweet_id)))])
    assert await cache.recently_changed(10) == [T3, T1, T2]
    assert await cache.recently_changed(2) == [T3, T1]


# Redis down ------------------------------------------------------------------------------------


async def test_with_redis_down_everything_is_a_miss_even_what_is_hot(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1)))])
    assert T1 in await cache.get([T1])
    procs.server.down()
    assert await cache.get([T1]) == {}


async def test_an_open_breaker_keeps_the_cache_off_redis(procs: Processes) -> None:
    cache = await started(procs.cache())
    await cache.fill([(T1, Versioned(1, view(T1)))])
    procs.server.down()
    await cache.get([T1])  # opens the breaker (one failure, in these tests)
    procs.server.up()
    assert await cache.get([T1]) == {}  # refused before Redis is asked
    cache.breaker.succeeded()
    assert T1 in await cache.get([T1])


async def test_a_fill_while_redis_is_down_is_dropped_quietly(procs: Processes) -> None:
    cache = await started(procs.cache())
    procs.server.down()
    await cache.fill([(T1, Versioned(1, view(T1)))])
    procs.server.up()
    assert await procs.warm_keys() == []


# Riders ----------------------------------------------------------------------------------------


class CountRider:
    """Rides along: the number of members of a set, read in the same pipeline."""

    def __init__(self) -> None:
        self.result: Any = None

    def queue(self, pipe: AnyPipeline) -> None:
        pipe.scard("riders")

    def read(self, result: Any) -> None:
        self.result = result


async def test_a_rider_shares_the_lookups_round_trip(procs: Processes) -> None:
    await procs.redis.sadd("riders", "a", "b")
    rider = CountRider()
    await procs.cache().get([T1], rider)
    assert rider.result == 2


async def test_a_rider_hears_nothing_while_redis_is_down(procs: Processes) -> None:
    cache = await started(procs.cache())
    procs.server.down()
    rider = CountRider()
    assert await cache.get([T1], rider) == {}
    assert rider.result is None


# HotTier on its own --------------------------------------------------------------------------


def test_hot_tier_expiry_is_at_the_ttl() -> None:
    hot = HotTier(10, ttl=5.0)
    hot.put(1, view(1), now=100.0)
    assert hot.get(1, now=104.999) is not None
    assert hot.get(1, now=105.0) is None
    assert 1 not in hot  # an expired entry is dropped when found


def test_hot_tier_evicts_the_least_recently_used() -> None:
    hot = HotTier(2, ttl=60.0)
    hot.put(1, view(1), 0.0)
    hot.put(2, view(2), 0.0)
    hot.get(1, 1.0)  # 1 is now the most recent
    hot.put(3, view(3), 1.0)
    assert (1 in hot, 2 in hot, 3 in hot) == (True, False, True)


def test_hot_tier_pop_and_clear() -> None:
    hot = HotTier(10, ttl=60.0)
    hot.put(1, view(1), 0.0)
    hot.put(2, view(2), 0.0)
    hot.pop(1)
    hot.pop(404)  # absent: nothing to do
    assert (1 in hot, 2 in hot) == (False, True)
    hot.clear()
    assert 2 not in hot
