"""Blocks and mutes in the users service and the Redis relations cache, against
the real PostgreSQL and Redis: races with follows, the cache's versioning, and
the batched CheckRelations the notifications service asks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.users.client.relations import Relations, RelationsWriter, decode, relations_key
from tests.support.users import Account, MakeAccount

if TYPE_CHECKING:
    Stub = users_pb2_grpc.UserServiceAsyncStub


@pytest.fixture
async def redis(stack_env: dict[str, str]) -> AsyncIterator[RedisClient]:
    client = redis_client.connect(stack_env["REDIS_URL"])
    yield client
    await client.aclose()


async def cached(redis: RedisClient, user: Account) -> Relations:
    raw = await redis.get(relations_key(user.user_id))
    assert isinstance(raw, bytes)
    return decode(raw)


async def block(users: Stub, who: Account, other: Account, *, on: bool = True) -> None:
    if on:
        await users.BlockUser(users_pb2.BlockUserRequest(username=other.username),
                              metadata=who.metadata)
    else:
        await users.UnblockUser(users_pb2.UnblockUserRequest(username=other.username),
                                metadata=who.metadata)


async def test_blocks_racing_follows_leave_no_follow_and_exact_counts(
        users: Stub, make_account: MakeAccount) -> None:
    target = await make_account("t")
    fans = await asyncio.gather(*(make_account("f") for _ in range(20)))

    async def follow(fan: Account) -> None:
        try:
            await users.FollowUser(users_pb2.FollowUserRequest(
                user_id=fan.user_id, target_user_id=target.user_id), metadata=fan.metadata)
        except grpc.aio.AioRpcError as exc:  # once blocked, and only then
            refused.append(exc.code())

    refused: list[grpc.StatusCode] = []

    await asyncio.gather(*(follow(f) for f in fans), *(block(users, target, f) for f in fans),
                         *(follow(f) for f in fans))
    # the blocked fan is told the target is absent (issue 31), as for no user
    assert set(refused) <= {grpc.StatusCode.NOT_FOUND}
    ids = await users.ListFollowerIds(users_pb2.ListFollowerIdsRequest(user_id=target.user_id))
    assert list(ids.follower_ids) == []
    count = await users.GetFollowerCount(users_pb2.GetFollowerCountRequest(
        user_id=target.user_id))
    assert count.follower_count == 0
    for fan in fans[:3]:
        me = await users.GetUser(users_pb2.GetUserRequest(user_id=fan.user_id),
                                 metadata=fan.metadata)
        assert me.user.following_count == 0


async def test_the_cache_keeps_the_newest_relations_whatever_the_order(
        users: Stub, make_account: MakeAccount, redis: RedisClient) -> None:
    me, other = await make_account(), await make_account()
    # Flapping blocks: each change writes the cache after its commit, in any order.
    await asyncio.gather(*(block(users, me, other, on=i % 2 == 0) for i in range(10)))
    await block(users, me, other)
    mine = await cached(redis, me)
    assert mine.blocked == {other.user_id}
    other_cached = await cached(redis, other)
    assert other_cached.blocked_by == {me.user_id}

    # A fill that read the store before the last change cannot overwrite it.
    stale = users_pb2.ViewerRelations(user_id=me.user_id, version=1)
    await RelationsWriter(redis).store([stale])
    assert (await cached(redis, me)).blocked == {other.user_id}


async def test_check_relations_answers_in_one_batch_from_the_cache(
        users: Stub, make_account: MakeAccount, redis: RedisClient) -> None:
    viewer, blocked, muted, blocker, stranger = await asyncio.gather(
        *(make_account() for _ in range(5)))
    await block(users, viewer, blocked)
    await users.MuteUser(users_pb2.MuteUserRequest(username=muted.username),
                         metadata=viewer.metadata)
    await block(users, blocker, viewer)
    asked = [u.user_id for u in (blocked, muted, blocker, stranger)]
    expected = ([blocked.user_id], [blocker.user_id], [muted.user_id])

    for _ in range(2):  # from the cache, then after losing it (filled again)
        got = await users.CheckRelations(users_pb2.CheckRelationsRequest(
            viewer_id=viewer.user_id, user_ids=asked))
        assert (list(got.blocked_ids), list(got.blocked_by_ids), list(got.muted_ids)) == \
            expected
        await redis.delete(relations_key(viewer.user_id))
    assert await redis.exists(relations_key(viewer.user_id)) == 0
    got = await users.CheckRelations(users_pb2.CheckRelationsRequest(
        viewer_id=viewer.user_id, user_ids=asked))
    assert await redis.exists(relations_key(viewer.user_id)) == 1
