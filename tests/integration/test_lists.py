"""Lists in the users service against the real PostgreSQL: the 5,000-member
cap and exact counts under concurrent adds and follows, blocks removing and
preventing membership, private lists answering as absent, and input checks."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import grpc
import psycopg
import pytest
from twitter.users.v1 import lists_pb2, lists_pb2_grpc, users_pb2, users_pb2_grpc

from services.shared.stores import redis_client
from services.users.client.lists import TOMBSTONE_VERSION, audience_key, decode
from services.users.lists.rules import MAX_MEMBERS
from tests.support.bulk import load_list_members, load_users
from tests.support.users import Account, MakeAccount

if TYPE_CHECKING:
    Lists = lists_pb2_grpc.ListServiceAsyncStub
    Users = users_pb2_grpc.UserServiceAsyncStub


@pytest.fixture(scope="session")
def lists(users_channel: grpc.aio.Channel) -> Lists:
    return lists_pb2_grpc.ListServiceStub(users_channel)


async def new_list(lists: Lists, owner: Account, *, private: bool = False,
                   name: str = "friends") -> lists_pb2.UserList:
    created = await lists.CreateList(lists_pb2.CreateListRequest(
        name=name, description="people I read", private=private), metadata=owner.metadata)
    return created.list


async def code_of(call: asyncio.Future[object] | object) -> grpc.StatusCode | None:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return None


def stored_counts(pg_dsn: str, list_id: int) -> tuple[int, int, int, int]:
    """(member_count, members stored, follower_count, followers stored)."""
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute(
            "SELECT member_count, (SELECT count(*) FROM list_members WHERE list_id = %(id)s),"
            " follower_count, (SELECT count(*) FROM list_followers WHERE list_id = %(id)s)"
            " FROM lists WHERE list_id = %(id)s", {"id": list_id}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def test_concurrent_adds_stop_exactly_at_the_cap(
        lists: Lists, make_account: MakeAccount, stack_env: dict[str, str]) -> None:
    owner = await make_account("lo")
    the_list = await new_list(lists, owner)
    # All but ten of the 5,000 seats taken in bulk; then 30 adds race for ten.
    users = await asyncio.to_thread(load_users, stack_env["PG_DSN"], MAX_MEMBERS + 20)
    await asyncio.to_thread(load_list_members, stack_env["PG_DSN"], the_list.list_id,
                            users[:MAX_MEMBERS - 10])
    racing = users[MAX_MEMBERS - 10:]
    codes = await asyncio.gather(*(code_of(lists.AddListMember(lists_pb2.AddListMemberRequest(
        list_id=the_list.list_id, user_id=u), metadata=owner.metadata)) for u in racing))
    assert codes.count(None) == 10
    assert set(codes) == {None, grpc.StatusCode.FAILED_PRECONDITION}
    assert stored_counts(stack_env["PG_DSN"], the_list.list_id)[:2] == (MAX_MEMBERS,
                                                                          MAX_MEMBERS)
    # A repeat of a member is still a no-op on a full list; a removal frees a seat.
    added = [u for u, c in zip(racing, codes, strict=True) if c is None]
    again = await lists.AddListMember(lists_pb2.AddListMemberRequest(
        list_id=the_list.list_id, user_id=added[0]), metadata=owner.metadata)
    assert again.list.member_count == MAX_MEMBERS
    await lists.RemoveListMember(lists_pb2.RemoveListMemberRequest(
        list_id=the_list.list_id, user_id=added[0]), metadata=owner.metadata)
    refused = next(u for u, c in zip(racing, codes, strict=True) if c is not None)
    now = await lists.AddListMember(lists_pb2.AddListMemberRequest(
        list_id=the_list.list_id, user_id=refused), metadata=owner.metadata)
    assert now.list.member_count == MAX_MEMBERS


async def test_duplicate_adds_and_follows_count_once(
        lists: Lists, make_account: MakeAccount, stack_env: dict[str, str]) -> None:
    owner, member = await make_account("lo"), await make_account("lm")
    fans = await asyncio.gather(*(make_account("lf") for _ in range(8)))
    the_list = await new_list(lists, owner)
    add = lists_pb2.AddListMemberRequest(list_id=the_list.list_id, user_id=member.user_id)
    follow = lists_pb2.FollowListRequest(list_id=the_list.list_id)
    await asyncio.gather(*(lists.AddListMember(add, metadata=owner.metadata) for _ in range(10)),
                         *(lists.FollowList(follow, metadata=f.metadata)
                           for f in fans for _ in range(2)))
    assert stored_counts(stack_env["PG_DSN"], the_list.list_id) == (1, 1, 8, 8)
    read = await lists.GetList(lists_pb2.GetListRequest(list_id=the_list.list_id),
                               metadata=fans[0].metadata)
    assert (read.list.member_count, read.list.follower_count, read.list.following) \
        == (1, 8, True)
    unfollow = lists_pb2.UnfollowListRequest(list_id=the_list.list_id)
    await asyncio.gather(*(lists.UnfollowList(unfollow, metadata=f.metadata)
                           for f in fans[:4] for _ in range(2)))
    assert stored_counts(stack_env["PG_DSN"], the_list.list_id) == (1, 1, 4, 4)


async def test_a_block_removes_and_prevents_membership_both_ways(
        lists: Lists, users: Users, make_account: MakeAccount,
        stack_env: dict[str, str]) -> None:
    a, b = await make_account("la"), await make_account("lb")
    a_list, b_list = await new_list(lists, a), await new_list(lists, b)
    await lists.AddListMember(lists_pb2.AddListMemberRequest(
        list_id=a_list.list_id, user_id=b.user_id), metadata=a.metadata)
    await lists.AddListMember(lists_pb2.AddListMemberRequest(
        list_id=b_list.list_id, user_id=a.user_id), metadata=b.metadata)
    await lists.FollowList(lists_pb2.FollowListRequest(list_id=a_list.list_id),
                           metadata=b.metadata)
    await users.BlockUser(users_pb2.BlockUserRequest(username=b.username), metadata=a.metadata)
    assert stored_counts(stack_env["PG_DSN"], a_list.list_id) == (0, 0, 0, 0)
    assert stored_counts(stack_env["PG_DSN"], b_list.list_id) == (0, 0, 0, 0)
    # The blocker is told why; to the blocked user the blocker does not exist.
    assert await code_of(lists.AddListMember(lists_pb2.AddListMemberRequest(
        list_id=a_list.list_id, user_id=b.user_id), metadata=a.metadata)) \
        == grpc.StatusCode.PERMISSION_DENIED
    assert await code_of(lists.AddListMember(lists_pb2.AddListMemberRequest(
        list_id=b_list.list_id, user_id=a.user_id), metadata=b.metadata)) \
        == grpc.StatusCode.NOT_FOUND
    assert await code_of(lists.GetList(lists_pb2.GetListRequest(list_id=a_list.list_id),
                                       metadata=b.metadata)) == grpc.StatusCode.NOT_FOUND


async def test_private_lists_exist_only_for_their_owner(
        lists: Lists, users_channel: grpc.aio.Channel, make_account: MakeAccount) -> None:
    owner, other = await make_account("lo"), await make_account("lx")
    secret = await new_list(lists, owner, private=True)
    absent = [
        lists.GetList(lists_pb2.GetListRequest(list_id=secret.list_id), metadata=other.metadata),
        lists.ListListMembers(lists_pb2.ListListMembersRequest(list_id=secret.list_id),
                              metadata=other.metadata),
        lists.FollowList(lists_pb2.FollowListRequest(list_id=secret.list_id),
                         metadata=other.metadata),
        lists.UpdateList(lists_pb2.UpdateListRequest(list_id=secret.list_id, name="mine"),
                         metadata=other.metadata),
        lists.DeleteList(lists_pb2.DeleteListRequest(list_id=secret.list_id),
                         metadata=other.metadata),
    ]
    assert [await code_of(c) for c in absent] == [grpc.StatusCode.NOT_FOUND] * len(absent)
    owned = await lists.ListOwnedLists(lists_pb2.ListOwnedListsRequest(
        user_id=owner.user_id), metadata=other.metadata)
    assert secret.list_id not in [x.list_id for x in owned.lists]
    mine = await lists.ListOwnedLists(lists_pb2.ListOwnedListsRequest(
        user_id=owner.user_id), metadata=owner.metadata)
    assert secret.list_id in [x.list_id for x in mine.lists]
    # Going private drops the followers a public list had.
    public = await new_list(lists, owner)
    await lists.FollowList(lists_pb2.FollowListRequest(list_id=public.list_id),
                           metadata=other.metadata)
    updated = await lists.UpdateList(lists_pb2.UpdateListRequest(
        list_id=public.list_id, private=True), metadata=owner.metadata)
    assert updated.list.private
    assert updated.list.follower_count == 0
    followed = await lists.ListFollowedLists(lists_pb2.ListFollowedListsRequest(
        user_id=other.user_id), metadata=other.metadata)
    assert list(followed.lists) == []


async def test_the_audience_cache_follows_every_committed_change(
        lists: Lists, users: Users, make_account: MakeAccount,
        stack_env: dict[str, str]) -> None:
    owner, a, b = (await make_account("lo"), await make_account("la"),
                   await make_account("lb"))
    the_list = await new_list(lists, owner)
    redis = redis_client.connect(stack_env["REDIS_URL"])
    try:
        async def cached() -> lists_pb2.ListAudience:
            raw = await redis.get(audience_key(the_list.list_id))
            assert isinstance(raw, bytes)
            return decode(raw)

        filled = await lists.GetListAudience(lists_pb2.GetListAudienceRequest(
            list_id=the_list.list_id))  # a miss's fill
        assert (await cached()).owner_id == owner.user_id
        versions = [filled.audience.version]
        for member in (a, b):
            await lists.AddListMember(lists_pb2.AddListMemberRequest(
                list_id=the_list.list_id, user_id=member.user_id), metadata=owner.metadata)
        assert set((await cached()).member_ids) == {a.user_id, b.user_id}
        versions.append((await cached()).version)
        await lists.RemoveListMember(lists_pb2.RemoveListMemberRequest(
            list_id=the_list.list_id, user_id=a.user_id), metadata=owner.metadata)
        assert list((await cached()).member_ids) == [b.user_id]
        await users.BlockUser(users_pb2.BlockUserRequest(username=owner.username),
                              metadata=b.metadata)  # b leaves owner's list
        assert list((await cached()).member_ids) == []
        await lists.UpdateList(lists_pb2.UpdateListRequest(
            list_id=the_list.list_id, private=True), metadata=owner.metadata)
        assert (await cached()).private
        versions.append((await cached()).version)
        assert versions == sorted(set(versions))  # grew with every change
        await lists.DeleteList(lists_pb2.DeleteListRequest(list_id=the_list.list_id),
                               metadata=owner.metadata)
        gone = await cached()
        assert gone.deleted
        assert gone.version == TOMBSTONE_VERSION
    finally:
        await redis.aclose()
