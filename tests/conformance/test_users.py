"""The users contract (twitter/users/v1/users.proto): validation with
google.rpc.BadRequest, error codes, idempotent follows, paging."""

from __future__ import annotations

import grpc
import pytest
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc
from twitter.users.v1 import users_pb2, users_pb2_grpc

from tests.support.conformance import PASSWORD, Channels, NewUser, rejected, unique, violations


@pytest.fixture(scope="module")
def users(channel: Channels) -> users_pb2_grpc.UserServiceAsyncStub:
    return users_pb2_grpc.UserServiceStub(channel("users"))


@pytest.fixture(scope="module")
def auth(channel: Channels) -> users_pb2_grpc.AuthServiceAsyncStub:
    return users_pb2_grpc.AuthServiceStub(channel("users"))


async def test_sign_up_validates_every_field(users: users_pb2_grpc.UserServiceAsyncStub) -> None:
    error = await rejected(users.CreateUser(users_pb2.CreateUserRequest(
        username="no spaces allowed", email="not-an-email", password="short")))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violations(error) >= {"username", "email", "password"}


async def test_a_taken_username_is_already_exists(
        users: users_pb2_grpc.UserServiceAsyncStub, new_user: NewUser) -> None:
    taken = await new_user()
    error = await rejected(users.CreateUser(users_pb2.CreateUserRequest(
        username=taken.username.upper(), email=f"{unique('cf')}@example.com",
        password=PASSWORD)))
    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_a_wrong_password_is_unauthenticated(
        auth: users_pb2_grpc.AuthServiceAsyncStub, new_user: NewUser) -> None:
    user = await new_user()
    error = await rejected(auth.Login(users_pb2.LoginRequest(
        username=user.username, password="not the password")))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_unknown_user_is_not_found(
        users: users_pb2_grpc.UserServiceAsyncStub, new_user: NewUser) -> None:
    me = await new_user()
    error = await rejected(users.GetUser(users_pb2.GetUserRequest(user_id=1), metadata=me.auth))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_follow_is_idempotent_and_only_as_oneself(
        users: users_pb2_grpc.UserServiceAsyncStub, new_user: NewUser) -> None:
    me, star, other = await new_user(), await new_user(), await new_user()
    follow = users_pb2.FollowUserRequest(user_id=me.user_id, target_user_id=star.user_id)
    await users.FollowUser(follow, metadata=me.auth)
    await users.FollowUser(follow, metadata=me.auth)
    got = await users.GetUser(users_pb2.GetUserRequest(user_id=star.user_id), metadata=me.auth)
    assert got.user.follower_count == 1
    as_other = await rejected(users.FollowUser(follow, metadata=other.auth))
    assert as_other.code() == grpc.StatusCode.PERMISSION_DENIED
    myself = await rejected(users.FollowUser(users_pb2.FollowUserRequest(
        user_id=me.user_id, target_user_id=me.user_id), metadata=me.auth))
    assert myself.code() == grpc.StatusCode.INVALID_ARGUMENT
    await users.UnfollowUser(users_pb2.UnfollowUserRequest(
        user_id=me.user_id, target_user_id=star.user_id), metadata=me.auth)
    await users.UnfollowUser(users_pb2.UnfollowUserRequest(
        user_id=me.user_id, target_user_id=star.user_id), metadata=me.auth)
    got = await users.GetUser(users_pb2.GetUserRequest(user_id=star.user_id), metadata=me.auth)
    assert got.user.follower_count == 0


async def test_followers_page_without_gaps_or_repeats(
        users: users_pb2_grpc.UserServiceAsyncStub, new_user: NewUser) -> None:
    star = await new_user()
    fans = [await new_user() for _ in range(5)]
    for fan in fans:
        await users.FollowUser(users_pb2.FollowUserRequest(
            user_id=fan.user_id, target_user_id=star.user_id), metadata=fan.auth)
    seen: list[int] = []
    token = ""
    for _ in range(10):
        page = await users.ListFollowers(users_pb2.ListFollowersRequest(
            user_id=star.user_id, page_size=2, page_token=token), metadata=star.auth)
        assert len(page.followers) <= 2
        seen += [f.user.user_id for f in page.followers]
        token = page.next_page_token
        if not token:
            break
    # Newest follow first, each follower once.
    assert seen == [f.user_id for f in reversed(fans)]
    error = await rejected(users.ListFollowers(users_pb2.ListFollowersRequest(
        user_id=star.user_id, page_token="garbage"), metadata=star.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_pinning_is_only_as_oneself_and_of_ones_own_tweet(
        users: users_pb2_grpc.UserServiceAsyncStub, channel: Channels,
        new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    tweets = tweets_pb2_grpc.TweetServiceStub(channel("tweets"))
    mine = (await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(content="pin"),
                                     metadata=me.auth)).tweet
    as_other = await rejected(users.PinTweet(users_pb2.PinTweetRequest(
        user_id=other.user_id, tweet_id=mine.tweet_id), metadata=me.auth))
    assert as_other.code() == grpc.StatusCode.PERMISSION_DENIED
    not_mine = await rejected(users.PinTweet(users_pb2.PinTweetRequest(
        user_id=other.user_id, tweet_id=mine.tweet_id), metadata=other.auth))
    assert not_mine.code() == grpc.StatusCode.PERMISSION_DENIED
    bad = await rejected(users.PinTweet(users_pb2.PinTweetRequest(user_id=me.user_id),
                                        metadata=me.auth))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "tweetId" in violations(bad)
    pinned = await users.PinTweet(users_pb2.PinTweetRequest(
        user_id=me.user_id, tweet_id=mine.tweet_id), metadata=me.auth)
    assert pinned.user.pinned_tweet_id == mine.tweet_id
