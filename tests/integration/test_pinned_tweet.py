"""Pinned tweets (issue 35): the users service's column on the real PostgreSQL,
checked against the real tweets service."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import grpc
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient
from services.users.domain import UserRecord
from services.users.pins import Pins
from tests.support.tweets import post
from tests.support.users import Account, MakeAccount

if TYPE_CHECKING:
    from twitter.tweets.v1 import tweets_pb2_grpc

    Tweets = tweets_pb2_grpc.TweetServiceAsyncStub
    Users = users_pb2_grpc.UserServiceAsyncStub


async def stored_pin(dsn: str, user_id: int) -> int | None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT pinned_tweet_id FROM users WHERE user_id = %s",
                                 (user_id,))
        row = await cur.fetchone()
    assert row is not None
    value: int | None = row[0]
    return value


async def pin(users: Users, who: Account, tweet_id: int) -> users_pb2.User:
    return (await users.PinTweet(users_pb2.PinTweetRequest(user_id=who.user_id,
                                                           tweet_id=tweet_id),
                                 metadata=who.metadata)).user


async def profile(users: Users, viewer: Account, user: Account) -> users_pb2.User:
    return (await users.GetUser(users_pb2.GetUserRequest(user_id=user.user_id),
                                metadata=viewer.metadata)).user


async def code(call: Awaitable[object]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call
    return exc.value.code()


async def test_one_pin_per_profile_cleared_at_read_once_its_tweet_is_deleted(
        users: Users, tweets: Tweets, make_account: MakeAccount,
        stack_env: dict[str, str]) -> None:
    owner, viewer = await make_account("p"), await make_account("v")
    first, second = await post(tweets, owner, "pin me"), await post(tweets, owner, "no, me")
    assert (await pin(users, owner, first.tweet_id)).pinned_tweet_id == first.tweet_id
    assert (await pin(users, owner, second.tweet_id)).pinned_tweet_id == second.tweet_id
    assert (await profile(users, viewer, owner)).pinned_tweet_id == second.tweet_id
    by_name = await users.GetUserByUsername(users_pb2.GetUserByUsernameRequest(
        username=owner.username), metadata=viewer.metadata)
    assert by_name.user.pinned_tweet_id == second.tweet_id
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=second.tweet_id),
                             metadata=owner.metadata)
    assert await stored_pin(stack_env["PG_DSN"], owner.user_id) == second.tweet_id
    assert (await profile(users, viewer, owner)).pinned_tweet_id == 0
    assert await stored_pin(stack_env["PG_DSN"], owner.user_id) is None
    # Unpinning is idempotent.
    await pin(users, owner, first.tweet_id)
    for _ in range(2):
        unpinned = await users.UnpinTweet(users_pb2.UnpinTweetRequest(user_id=owner.user_id),
                                          metadata=owner.metadata)
        assert unpinned.user.pinned_tweet_id == 0
    assert await stored_pin(stack_env["PG_DSN"], owner.user_id) is None


async def test_only_ones_own_original_or_reply_can_be_pinned(
        users: Users, tweets: Tweets, make_account: MakeAccount) -> None:
    owner, other = await make_account("p"), await make_account("o")
    theirs = await post(tweets, other, "theirs")
    their_reply = await post(tweets, other, "their reply", theirs.tweet_id)
    my_reply = await post(tweets, owner, "my reply", theirs.tweet_id)
    retweet = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=theirs.tweet_id),
                                    metadata=owner.metadata)).tweet
    assert await code(pin(users, owner, theirs.tweet_id)) == grpc.StatusCode.PERMISSION_DENIED
    assert await code(pin(users, owner, their_reply.tweet_id)
                      ) == grpc.StatusCode.PERMISSION_DENIED
    assert await code(pin(users, owner, retweet.tweet_id)
                      ) == grpc.StatusCode.FAILED_PRECONDITION
    assert await code(pin(users, owner, 4242)) == grpc.StatusCode.NOT_FOUND
    assert await code(pin(users, owner, 0)) == grpc.StatusCode.INVALID_ARGUMENT
    assert await code(users.PinTweet(users_pb2.PinTweetRequest(
        user_id=other.user_id, tweet_id=theirs.tweet_id), metadata=owner.metadata)
    ) == grpc.StatusCode.PERMISSION_DENIED
    assert (await pin(users, owner, my_reply.tweet_id)).pinned_tweet_id == my_reply.tweet_id


async def test_a_profile_read_keeps_the_pin_when_the_tweets_service_is_down(
        stack_env: dict[str, str]) -> None:
    """Nothing listens on the peer's port: the profile shows the pin as stored."""
    channel = internal_channel("127.0.0.1:1", AuthSettings().internal_token.get_secret_value(),
                               peer="tweets")
    pool = AsyncConnectionPool(stack_env["PG_DSN"], min_size=1, max_size=1, open=False)
    await pool.open()
    try:
        user = UserRecord(1, "someone", "", "", "", "", "", 0, 0, datetime.now(UTC),
                          pinned_tweet_id=42)
        assert await Pins(pool, TweetsClient(channel)).shown(user) == user
    finally:
        await pool.close()
        await channel.close()
