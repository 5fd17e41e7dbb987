"""The users service over gRPC against the real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import grpc
import pytest
from twitter.users.v1 import events_pb2, users_pb2, users_pb2_grpc

from services.shared import contracts
from services.shared.messaging import events as jetstream
from tests.support.users import PASSWORD, Account, MakeAccount, unique_name


def code_of(exc: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> grpc.StatusCode:
    return exc.value.code()


async def test_ten_thousand_concurrent_sign_ups_make_exactly_one_account_per_name(
        users: users_pb2_grpc.UserServiceAsyncStub) -> None:
    names = [unique_name("r") for _ in range(100)]
    gate = asyncio.Semaphore(300)  # 300 calls in flight at any moment

    async def sign_up(i: int) -> grpc.StatusCode:
        name = names[i % 100]
        # Different case and email each time: uniqueness must ignore case.
        variant = name.upper() if i % 2 else name
        async with gate:
            try:
                await users.CreateUser(users_pb2.CreateUserRequest(
                    username=variant, email=f"{uuid.uuid4().hex}@example.com",
                    password=PASSWORD), timeout=300)
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return grpc.StatusCode.OK

    codes = await asyncio.gather(*(sign_up(i) for i in range(10_000)))
    assert Counter(codes) == {grpc.StatusCode.OK: 100, grpc.StatusCode.ALREADY_EXISTS: 9_900}
    found = await users.BatchGetUsersByUsername(
        users_pb2.BatchGetUsersByUsernameRequest(usernames=names))
    assert sorted(u.username.lower() for u in found.users) == sorted(names)


async def test_email_unique_without_regard_to_case(users: users_pb2_grpc.UserServiceAsyncStub,
                                                   make_account: MakeAccount) -> None:
    a = await make_account()
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await users.CreateUser(users_pb2.CreateUserRequest(
            username=unique_name(), email=a.email.upper(), password=PASSWORD))
    assert code_of(exc) == grpc.StatusCode.ALREADY_EXISTS
    assert "email" in (exc.value.details() or "")


async def test_fifty_concurrent_followers_and_a_follow_unfollow_race_keep_counts_exact(
        users: users_pb2_grpc.UserServiceAsyncStub, make_account: MakeAccount) -> None:
    target = await make_account("t")
    fans = await asyncio.gather(*(make_account("f") for _ in range(50)))

    async def follow(fan: Account) -> None:
        await users.FollowUser(users_pb2.FollowUserRequest(
            user_id=fan.user_id, target_user_id=target.user_id), metadata=fan.metadata)

    async def flap(fan: Account) -> None:
        for _ in range(3):
            await follow(fan)
            await users.UnfollowUser(users_pb2.UnfollowUserRequest(
                user_id=fan.user_id, target_user_id=target.user_id), metadata=fan.metadata)

    # Every fan follows twice (idempotent); ten of them flap, ending unfollowed.
    await asyncio.gather(*(follow(f) for f in fans), *(follow(f) for f in fans))
    await asyncio.gather(*(flap(f) for f in fans[:10]))
    await asyncio.gather(*(users.UnfollowUser(users_pb2.UnfollowUserRequest(
        user_id=f.user_id, target_user_id=target.user_id), metadata=f.metadata)
        for f in fans[:10]))

    ids = await users.ListFollowerIds(users_pb2.ListFollowerIdsRequest(user_id=target.user_id))
    assert sorted(ids.follower_ids) == sorted(f.user_id for f in fans[10:])
    count = await users.GetFollowerCount(users_pb2.GetFollowerCountRequest(
        user_id=target.user_id))
    assert count.follower_count == 40
    fan = await users.GetUser(users_pb2.GetUserRequest(user_id=fans[20].user_id),
                              metadata=fans[20].metadata)
    assert fan.user.following_count == 1


async def test_mutual_follow_race_does_not_deadlock(users: users_pb2_grpc.UserServiceAsyncStub,
                                                    make_account: MakeAccount) -> None:
    pairs = [await asyncio.gather(make_account(), make_account()) for _ in range(10)]
    calls = []
    for a, b in pairs:
        calls.append(users.FollowUser(users_pb2.FollowUserRequest(
            user_id=a.user_id, target_user_id=b.user_id), metadata=a.metadata))
        calls.append(users.FollowUser(users_pb2.FollowUserRequest(
            user_id=b.user_id, target_user_id=a.user_id), metadata=b.metadata))
    results = await asyncio.gather(*calls)
    assert all(r.user.following_count == 1 for r in results)


async def test_follower_pages_neither_skip_nor_repeat_under_concurrent_follows(
        users: users_pb2_grpc.UserServiceAsyncStub, make_account: MakeAccount) -> None:
    target = await make_account("p")
    early = await asyncio.gather(*(make_account() for _ in range(25)))
    for fan in early:
        await users.FollowUser(users_pb2.FollowUserRequest(
            user_id=fan.user_id, target_user_id=target.user_id), metadata=fan.metadata)
    late = await asyncio.gather(*(make_account() for _ in range(10)))

    seen: list[int] = []
    token = ""
    for page_no in range(100):
        page = await users.ListFollowers(users_pb2.ListFollowersRequest(
            user_id=target.user_id, page_size=4, page_token=token), metadata=target.metadata)
        seen.extend(e.user.user_id for e in page.followers)
        if page_no < len(late):  # someone new follows between every two pages
            fan = late[page_no]
            await users.FollowUser(users_pb2.FollowUserRequest(
                user_id=fan.user_id, target_user_id=target.user_id), metadata=fan.metadata)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)), "a follower was repeated"
    assert set(seen) >= {f.user_id for f in early}, "a follower was skipped"
    assert seen[:4] == [f.user_id for f in reversed(early)][:4]  # newest first


async def test_follow_errors(users: users_pb2_grpc.UserServiceAsyncStub,
                             make_account: MakeAccount) -> None:
    a, b = await make_account(), await make_account()
    cases = [
        (users_pb2.FollowUserRequest(user_id=a.user_id, target_user_id=a.user_id),
         grpc.StatusCode.INVALID_ARGUMENT),
        (users_pb2.FollowUserRequest(user_id=a.user_id, target_user_id=1),
         grpc.StatusCode.NOT_FOUND),
        (users_pb2.FollowUserRequest(user_id=b.user_id, target_user_id=a.user_id),
         grpc.StatusCode.PERMISSION_DENIED),
    ]
    for request, expected in cases:
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await users.FollowUser(request, metadata=a.metadata)
        assert code_of(exc) == expected
    me = await users.GetUser(users_pb2.GetUserRequest(user_id=a.user_id), metadata=a.metadata)
    assert me.user.following_count == 0


async def test_follower_ids_page_in_ascending_batches(users: users_pb2_grpc.UserServiceAsyncStub,
                                                      make_account: MakeAccount) -> None:
    target = await make_account()
    fans = await asyncio.gather(*(make_account() for _ in range(7)))
    for fan in fans:
        await users.FollowUser(users_pb2.FollowUserRequest(
            user_id=fan.user_id, target_user_id=target.user_id), metadata=fan.metadata)
    ids: list[int] = []
    token = ""
    while True:
        page = await users.ListFollowerIds(users_pb2.ListFollowerIdsRequest(
            user_id=target.user_id, page_size=3, page_token=token))
        ids.extend(page.follower_ids)
        token = page.next_page_token
        if not token:
            break
    assert ids == sorted(f.user_id for f in fans)


async def test_the_first_follower_batch_carries_the_count_and_none_above_the_maximum(
        users: users_pb2_grpc.UserServiceAsyncStub, make_account: MakeAccount) -> None:
    target = await make_account()
    fans = await asyncio.gather(*(make_account() for _ in range(3)))
    for fan in fans:
        await users.FollowUser(users_pb2.FollowUserRequest(
            user_id=fan.user_id, target_user_id=target.user_id), metadata=fan.metadata)
    first = await users.ListFollowerIds(users_pb2.ListFollowerIdsRequest(
        user_id=target.user_id, page_size=2, max_follower_count=3))
    assert first.follower_count == 3
    assert list(first.follower_ids) == sorted(f.user_id for f in fans)[:2]
    second = await users.ListFollowerIds(users_pb2.ListFollowerIdsRequest(
        user_id=target.user_id, page_size=2, page_token=first.next_page_token,
        max_follower_count=3))
    assert list(second.follower_ids) == sorted(f.user_id for f in fans)[2:]
    assert second.next_page_token == ""
    # Above the maximum (a celebrity to fanout): the count alone.
    above = await users.ListFollowerIds(users_pb2.ListFollowerIdsRequest(
        user_id=target.user_id, page_size=2, max_follower_count=2))
    assert (above.follower_count, list(above.follower_ids), above.next_page_token) == (3, [], "")
    nobody = await users.ListFollowerIds(users_pb2.ListFollowerIdsRequest(user_id=1))
    assert (nobody.follower_count, list(nobody.follower_ids)) == (0, [])


async def test_internal_rpc_needs_the_internal_token(stack_env: dict[str, str],
                                                     make_account: MakeAccount) -> None:
    a = await make_account()
    async with grpc.aio.insecure_channel(stack_env["USERS_ADDR"]) as channel:
        stub = users_pb2_grpc.UserServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.ListFollowerIds(users_pb2.ListFollowerIdsRequest(user_id=a.user_id),
                                       metadata=a.metadata)
    assert code_of(exc) == grpc.StatusCode.PERMISSION_DENIED


async def test_user_rpc_needs_a_token(stack_env: dict[str, str]) -> None:
    async with grpc.aio.insecure_channel(stack_env["USERS_ADDR"]) as channel:
        stub = users_pb2_grpc.UserServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await stub.GetUser(users_pb2.GetUserRequest(user_id=1))
    assert code_of(exc) == grpc.StatusCode.UNAUTHENTICATED


async def test_repeated_failures_lock_the_login(auth_stub: users_pb2_grpc.AuthServiceAsyncStub,
                                                make_account: MakeAccount) -> None:
    a = await make_account()
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await auth_stub.Login(users_pb2.LoginRequest(username=a.username, password="wrong!!!"))
        assert code_of(exc) == grpc.StatusCode.UNAUTHENTICATED
    # Locked after the fifth failure: even the right password is refused for a while.
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await auth_stub.Login(users_pb2.LoginRequest(username=a.username, password=PASSWORD))
    assert code_of(exc) == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_refresh_rotates_and_reuse_revokes_the_session(
        auth_stub: users_pb2_grpc.AuthServiceAsyncStub, make_account: MakeAccount) -> None:
    a = await make_account()
    rotated = await auth_stub.RefreshToken(users_pb2.RefreshTokenRequest(
        refresh_token=a.refresh_token))
    assert rotated.refresh_token != a.refresh_token
    newer = await auth_stub.RefreshToken(users_pb2.RefreshTokenRequest(
        refresh_token=rotated.refresh_token))
    # The first token again: reuse. It fails, and so does the newest one now.
    for token in (a.refresh_token, newer.refresh_token):
        with pytest.raises(grpc.aio.AioRpcError) as exc:
            await auth_stub.RefreshToken(users_pb2.RefreshTokenRequest(refresh_token=token))
        assert code_of(exc) == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_revokes(auth_stub: users_pb2_grpc.AuthServiceAsyncStub,
                              make_account: MakeAccount) -> None:
    a = await make_account()
    await auth_stub.Logout(users_pb2.LogoutRequest(refresh_token=a.refresh_token))
    await auth_stub.Logout(users_pb2.LogoutRequest(refresh_token=a.refresh_token))  # idempotent
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await auth_stub.RefreshToken(users_pb2.RefreshTokenRequest(refresh_token=a.refresh_token))
    assert code_of(exc) == grpc.StatusCode.UNAUTHENTICATED


async def test_follow_event_reaches_jetstream(stack_env: dict[str, str],
                                              users: users_pb2_grpc.UserServiceAsyncStub,
                                              make_account: MakeAccount) -> None:
    a, b = await make_account(), await make_account()
    nc, js = await jetstream.connect(stack_env["NATS_URL"], name="test")
    try:
        sub = await js.subscribe(contracts.subject(events_pb2.FollowCreated), ordered_consumer=True,
                                 deliver_policy=jetstream.DeliverPolicy.NEW)
        trace_id = uuid.uuid4().hex
        traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
        await users.FollowUser(users_pb2.FollowUserRequest(
            user_id=a.user_id, target_user_id=b.user_id),
            metadata=(*a.metadata, ("traceparent", traceparent)))
        async with asyncio.timeout(10):
            while True:
                msg = await sub.next_msg(timeout=10)
                event = events_pb2.FollowCreated.FromString(msg.data)
                if event.follower_id == a.user_id:
                    break
        assert event.followee_id == b.user_id
        assert event.followee_follower_count == 1
        assert msg.headers
        assert msg.headers["Nats-Msg-Id"] == event.event_id
        # The event continues the trace of the call that caused it.
        assert msg.headers["traceparent"].split("-")[1] == trace_id
    finally:
        await nc.close()
