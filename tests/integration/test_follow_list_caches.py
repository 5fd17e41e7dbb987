"""The timeline's cached follow lists on the stack's Redis
(services/timeline/store.py): an author's followers (fanout, followers.py)
and whom a user follows (the reader). Each is stored with a TTL and dropped
by a follow event, and a fill that read the users service before a follow
event is refused."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.timeline.store import (
    FOLLOWERS_TTL_SECONDS,
    Followers,
    TimelineStore,
    followers_key,
    followers_version_key,
    following_key,
    following_version_key,
)


@pytest.fixture
async def redis(stack_env: dict[str, str]) -> AsyncIterator[RedisClient]:
    client = redis_client.connect(stack_env["REDIS_URL"])
    yield client
    await client.aclose()


@pytest.fixture
async def author(redis: RedisClient) -> AsyncIterator[int]:
    author_id = random.randrange(10**15, 9 * 10**15)
    yield author_id
    for key in (followers_key, followers_version_key, following_key, following_version_key):
        await redis.delete(key(author_id))


async def test_a_list_is_kept_until_a_follow_event(redis: RedisClient, author: int) -> None:
    store = TimelineStore(redis, capacity=800, inactive_after_seconds=600)
    cached, version = await store.cached_followers(author)
    assert cached is None
    followers = Followers(3, [2**62 + 1, 7, 9])
    assert await store.cache_followers(author, version, followers)
    assert await store.cached_followers(author) == (followers, version)
    assert 0 < await redis.ttl(followers_key(author)) <= FOLLOWERS_TTL_SECONDS
    await store.forget_followers(author)
    cached, after = await store.cached_followers(author)
    assert cached is None
    assert after != version


async def test_a_fill_from_before_a_follow_event_is_refused(redis: RedisClient,
                                                            author: int) -> None:
    store = TimelineStore(redis, capacity=800, inactive_after_seconds=600)
    _, seen = await store.cached_followers(author)
    await store.forget_followers(author)  # handled while the users service answered
    assert not await store.cache_followers(author, seen, Followers(1, [5]))
    assert (await store.cached_followers(author))[0] is None
    _, now = await store.cached_followers(author)
    assert await store.cache_followers(author, now, Followers(2, [5, 6]))
    assert (await store.cached_followers(author))[0] == Followers(2, [5, 6])


async def test_a_celebritys_count_is_kept_without_ids(redis: RedisClient, author: int) -> None:
    store = TimelineStore(redis, capacity=800, inactive_after_seconds=600)
    _, version = await store.cached_followers(author)
    assert await store.cache_followers(author, version, Followers(250_000, []))
    assert (await store.cached_followers(author))[0] == Followers(250_000, [])
    assert await redis.strlen(followers_key(author)) == 8


async def test_whom_a_user_follows_is_stored_whole_unless_a_follow_came_first(
        redis: RedisClient, author: int) -> None:
    store = TimelineStore(redis, capacity=800, inactive_after_seconds=600)
    ids = list(range(10**12, 10**12 + 2_500))  # more than one SADD of the script takes
    assert await store.set_following(author, ids, version=await store.following_version(author))
    assert sorted(await store.following(author) or []) == ids
    seen = await store.following_version(author)
    await store.forget_following(author)  # the user's follow, handled meanwhile
    assert not await store.set_following(author, ids[:1], version=seen)
    assert await store.following(author) is None
