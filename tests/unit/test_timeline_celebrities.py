"""The timeline server's copy of the celebrity set (services/timeline/celebrities.py)
over the store on fakeredis: it answers once loaded, follows the set's version,
reads the whole set only when the version moved (or a full reload is due),
and gives way to Redis while it is not loaded or too old."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from services.timeline.celebrities import FULL_RELOAD_SECONDS, CelebrityCopy
from services.timeline.store import CELEBRITIES, TimelineStore
from tests.fakes.clock import FakeClock
from tests.fakes.redis import fake_redis
from tests.support.wait import eventually

REFRESH = 1.0
MAX_AGE = 5.0


@pytest.fixture
def redis() -> Redis:
    return fake_redis()


@pytest.fixture
def store(redis: Redis) -> TimelineStore:
    return TimelineStore(redis, capacity=5, inactive_after_seconds=60)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def copy(store: TimelineStore, clock: FakeClock) -> CelebrityCopy:
    return CelebrityCopy(store, refresh_seconds=REFRESH, max_age_seconds=MAX_AGE,
                         clock=clock.monotonic)


async def test_a_copy_not_loaded_yet_gives_way_to_redis(
        store: TimelineStore, copy: CelebrityCopy) -> None:
    await store.mark_celebrity(3, True)
    assert copy.among([3, 4]) is None
    assert await copy.celebrities_among([4, 3]) == [3]


async def test_a_loaded_copy_answers_in_the_order_asked(
        store: TimelineStore, copy: CelebrityCopy) -> None:
    for author in (3, 5, 9):
        await store.mark_celebrity(author, True)
    await copy.refresh()
    assert copy.among([9, 1, 3, 5]) == [9, 3, 5]
    assert copy.among([]) == []


async def test_a_change_shows_after_the_next_refresh(
        store: TimelineStore, copy: CelebrityCopy) -> None:
    await store.mark_celebrity(3, True)
    await copy.refresh()
    await store.mark_celebrity(4, True)
    await store.mark_celebrity(3, False)
    assert copy.among([3, 4]) == [3]  # stale until refreshed: what the docstring allows
    await copy.refresh()
    assert copy.among([3, 4]) == [4]


async def test_an_unchanged_version_reads_no_set_until_a_full_reload_is_due(
        store: TimelineStore, copy: CelebrityCopy, redis: Redis, clock: FakeClock) -> None:
    await store.mark_celebrity(3, True)
    await copy.refresh()
    # Written around the version (as an older worker would): invisible to a
    # refresh that trusts the version, which proves it did not read the set...
    await redis.sadd(CELEBRITIES, "4")
    clock.advance(REFRESH)
    await copy.refresh()
    assert copy.among([3, 4]) == [3]
    # ...until the periodic full reload.
    clock.advance(FULL_RELOAD_SECONDS)
    await copy.refresh()
    assert copy.among([3, 4]) == [3, 4]


async def test_a_lost_version_key_reloads_the_set(
        store: TimelineStore, copy: CelebrityCopy, redis: Redis) -> None:
    await store.mark_celebrity(3, True)
    await copy.refresh()
    await redis.flushall()  # the set and its version gone (a Redis without its data)
    await copy.refresh()
    assert copy.among([3]) == []


async def test_a_copy_older_than_its_bound_gives_way_to_redis(
        store: TimelineStore, copy: CelebrityCopy, clock: FakeClock) -> None:
    await copy.refresh()
    await store.mark_celebrity(3, True)
    clock.advance(MAX_AGE)
    assert copy.among([3]) == []  # at the bound: still answers
    clock.advance(0.001)
    assert copy.among([3]) is None
    assert await copy.celebrities_among([3]) == [3]
    await copy.refresh()
    assert copy.among([3]) == [3]


class _Unreachable(TimelineStore):
    """A store whose Redis is gone until `back` is set."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis, capacity=5, inactive_after_seconds=60)
        self.back = asyncio.Event()
        self.tried = asyncio.Event()

    async def celebrities(self) -> tuple[str | None, frozenset[int]]:
        self.tried.set()
        if not self.back.is_set():
            raise RedisConnectionError("unreachable")
        return await super().celebrities()


async def test_the_refresh_job_outlives_redis_errors(redis: Redis) -> None:
    store = _Unreachable(redis)
    await store.mark_celebrity(3, True)
    copy = CelebrityCopy(store, refresh_seconds=0.001, max_age_seconds=MAX_AGE)
    job = asyncio.create_task(copy.run())
    try:
        await asyncio.wait_for(store.tried.wait(), 5)
        assert copy.among([3]) is None
        store.back.set()

        async def loaded() -> bool:
            return copy.among([3]) == [3]
        await eventually(loaded, within=5, every=0.001, what="the copy loaded")
    finally:
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
