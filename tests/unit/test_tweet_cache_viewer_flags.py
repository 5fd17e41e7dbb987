"""ViewerFlags (services/tweets/client/viewer_flags.py), the tweet cache's
companion for a viewer's likes and retweets, on fakeredis: unknown until
materialised, the loader's lease against racing writes, newer-wins records,
riders, and Redis down."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from services.shared.resilience.breaker import CircuitBreaker
from services.tweets.client.viewer_flags import MAX_MEMBERS, ViewerFlags, union
from tests.fakes.redis import FakeRedisServer

VIEWER = 7
T1, T2, T3 = 11, 12, 13


@pytest.fixture
def server() -> FakeRedisServer:
    return FakeRedisServer()


@pytest.fixture
def redis(server: FakeRedisServer) -> Redis:
    return server.client()


@pytest.fixture
def flags(redis: Redis) -> ViewerFlags:
    return ViewerFlags(redis, breaker=CircuitBreaker("test_flags", failures=1,
                                                     reset_seconds=3600))


async def materialise(flags: ViewerFlags, liked: tuple[int, ...] = (),
                      retweeted: tuple[int, ...] = ()) -> None:
    token = await flags.lease(VIEWER)
    assert token is not None
    assert await flags.store(VIEWER, token, liked, retweeted)


async def test_flags_are_unknown_until_materialised(flags: ViewerFlags) -> None:
    assert await flags.get(VIEWER, [T1]) is None
    await materialise(flags, liked=(T1,), retweeted=(T2,))
    assert await flags.get(VIEWER, [T1, T2, T3]) == ({T1}, {T2})


async def test_one_loader_at_a_time(flags: ViewerFlags) -> None:
    assert await flags.lease(VIEWER) is not None
    assert await flags.lease(VIEWER) is None


async def test_a_write_during_the_load_makes_the_loader_give_up(flags: ViewerFlags) -> None:
    token = await flags.lease(VIEWER)
    assert token is not None
    await flags.record(VIEWER, T1, at=100, liked=True)  # while the loader reads the store
    assert not await flags.store(VIEWER, token, [], [])
    assert await flags.get(VIEWER, [T1]) is None  # unknown: asked of the store again


async def test_the_viewers_own_like_updates_a_materialised_set(flags: ViewerFlags) -> None:
    await materialise(flags)
    await flags.record(VIEWER, T1, at=100, liked=True)
    await flags.record(VIEWER, T2, at=100, retweeted=True)
    assert await flags.get(VIEWER, [T1, T2]) == ({T1}, {T2})
    await flags.record(VIEWER, T1, at=200, liked=False)
    assert await flags.get(VIEWER, [T1, T2]) == (set(), {T2})


async def test_a_record_never_creates_an_unknown_set(flags: ViewerFlags) -> None:
    await flags.record(VIEWER, T1, at=100, liked=True)
    assert await flags.get(VIEWER, [T1]) is None


@pytest.mark.parametrize(("first", "second", "liked"), [
    ((200, True), (100, False), True),   # an older unlike arrives late: ignored
    ((100, True), (200, False), False),
    ((200, False), (100, True), False),
])
async def test_the_newest_write_wins_whatever_order_they_arrive_in(
        flags: ViewerFlags, first: tuple[int, bool], second: tuple[int, bool],
        liked: bool) -> None:
    await materialise(flags)
    for at, on in (first, second):
        await flags.record(VIEWER, T1, at=at, liked=on)
    assert await flags.get(VIEWER, [T1]) == (({T1} if liked else set()), set())


async def test_a_viewer_with_too_many_flags_is_left_to_the_store(flags: ViewerFlags) -> None:
    token = await flags.lease(VIEWER)
    assert token is not None
    assert not await flags.store(VIEWER, token, range(MAX_MEMBERS + 1), [])
    assert await flags.get(VIEWER, [1]) is None
    assert await flags.lease(VIEWER) is None  # held: the store is not read in full each page


async def test_a_large_set_is_loaded_in_chunks(flags: ViewerFlags) -> None:
    liked = tuple(range(1, 2500))
    await materialise(flags, liked=liked)
    found = await flags.get(VIEWER, [1, 1249, 2499, 2500])
    assert found == ({1, 1249, 2499}, set())


async def test_a_rider_reads_the_flags_in_anothers_pipeline(
        flags: ViewerFlags, redis: Redis) -> None:
    await materialise(flags, liked=(T2,))
    rider = flags.rider(VIEWER, [T1, T2])
    async with redis.pipeline(transaction=False) as pipe:
        rider.queue(pipe)
        (result,) = await pipe.execute()
    rider.read(result)
    assert rider.flags == ({T2}, set())


def test_union_is_unknown_when_either_side_is() -> None:
    assert union(({1}, {2}), ({3}, set())) == ({1, 3}, {2})
    assert union(None, ({3}, set())) is None
    assert union(({1}, set()), None) is None


async def test_with_redis_down_flags_are_unknown(
        flags: ViewerFlags, server: FakeRedisServer) -> None:
    await materialise(flags, liked=(T1,))
    server.down()
    assert await flags.get(VIEWER, [T1]) is None
    server.up()
    assert await flags.get(VIEWER, [T1]) is None  # the breaker is open: still unknown


async def test_a_write_redis_missed_drops_the_set_once_it_is_back(
        flags: ViewerFlags, server: FakeRedisServer) -> None:
    await materialise(flags, liked=(T1,))
    server.down()
    await flags.record(VIEWER, T1, at=100, liked=False)  # lost: the set is now wrong
    server.up()
    await flags.settle()
    flags.breaker.succeeded()
    assert await flags.get(VIEWER, [T1]) is None
