"""Likes and retweets of one tweet by 200 users at once, with retries, while a
tweets process is killed (SIGKILL) in the middle: once the writers stop and the
outbox relay has run, the count is exactly the number of users whose last
change stands, and every derived row (likers, a user's likes, retweets and
their index rows) exists once for each of them and for no one else."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import grpc
import pytest
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from services.shared.security.auth import EDGE_TOKEN_HEADER, USER_ID_HEADER, edge_token
from services.shared.stores.cassandra import Cql
from services.tweets.wiring import Components
from stack import topology
from tests.support.stack_control import control, processes, wait_serving
from tests.support.tweets import FlakyPublisher
from tests.support.users import MakeAccount

USERS = 200
CHANGES_PER_USER = 4
if TYPE_CHECKING:
    Stub = tweets_pb2_grpc.TweetServiceAsyncStub
    Change = Callable[[Stub, int, int, bool], Awaitable[object]]


@pytest.fixture
async def process_stubs(stack_env: dict[str, str]) -> AsyncIterator[list[Stub]]:
    """One stub per tweets process (each has a port of its own), as the edge sees them."""
    port = int(stack_env["TWEETS_ADDR"].rsplit(":", 1)[1])
    ports = topology.process_ports(port, len(processes("tweets"))) or [port]
    token = AuthSettings().internal_token.get_secret_value()
    channels = [internal_channel(f"127.0.0.1:{p}", token) for p in ports]
    yield [tweets_pb2_grpc.TweetServiceStub(c) for c in channels]
    for channel in channels:
        await channel.close()


def as_user(user: int) -> tuple[tuple[str, str], ...]:
    token = edge_token(AuthSettings().internal_token.get_secret_value())
    return ((EDGE_TOKEN_HEADER, token), (USER_ID_HEADER, str(user)))


async def like(stub: Stub, tweet: int, user: int, on: bool) -> object:
    if on:
        return await stub.LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=tweet),
                                    metadata=as_user(user), timeout=20)
    return await stub.UnlikeTweet(tweets_pb2.UnlikeTweetRequest(tweet_id=tweet),
                                  metadata=as_user(user), timeout=20)


async def retweet(stub: Stub, tweet: int, user: int, on: bool) -> object:
    if on:
        return await stub.Retweet(tweets_pb2.RetweetRequest(tweet_id=tweet),
                                  metadata=as_user(user), timeout=20)
    return await stub.Unretweet(tweets_pb2.UnretweetRequest(tweet_id=tweet),
                                metadata=as_user(user), timeout=20)


async def storm(stubs: list[Stub], tweet: int, change: Change) -> tuple[set[int], set[int], int]:
    """Every user changes their like (retweet) several times, one change after
    another, each retried until it succeeds, some of them twice at once (a
    client retrying early); the first tweets process is killed meanwhile.
    Returns the users whose last change was on, all users, and how many calls
    failed."""
    rng = random.Random(tweet)
    base = 10**15 + rng.randrange(10**12)  # user ids nobody else uses
    plans = {base + n: [rng.random() < 0.6 for _ in range(CHANGES_PER_USER)]
             for n in range(USERS)}
    failures = 0

    async def until_done(user: int, on: bool, first: int) -> None:
        nonlocal failures
        for attempt in range(60):
            try:
                await change(stubs[(first + attempt) % len(stubs)], tweet, user, on)
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE,
                                      grpc.StatusCode.DEADLINE_EXCEEDED,
                                      grpc.StatusCode.INTERNAL):
                    raise
                failures += 1
                await asyncio.sleep(0.2)  # a client's backoff before its retry
            else:
                return
        raise AssertionError(f"user {user} could not change {tweet}")

    async def user_session(user: int, plan: list[bool]) -> None:
        for i, on in enumerate(plan):
            if i == 1:  # a duplicate request racing the original
                await asyncio.gather(until_done(user, on, user), until_done(user, on, user + 1))
            else:
                await until_done(user, on, user + i)

    async def killer() -> None:
        await asyncio.sleep(1.0)  # the kill lands in the middle of the storm, by design
        await control("signal", "KILL", processes("tweets")[0])

    await asyncio.gather(killer(), *(user_session(u, p) for u, p in plans.items()))
    return {u for u, plan in plans.items() if plan[-1]}, set(plans), failures


async def storm_through_a_kill(tweets: Stub, make_account: MakeAccount,
                               stubs: list[Stub], parts: Components,
                               change: Change) -> tuple[tweets_pb2.Tweet, set[int], set[int]]:
    """A fresh tweet through the storm, then the relay over what the killed
    process left unfinished (as it runs after its grace period). Returns the
    tweet as shown afterwards, the users whose last change was on, and all."""
    author = await make_account("a")
    tweet = (await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(content="storm"),
                                      metadata=author.metadata)).tweet.tweet_id
    on, everyone, failures = await storm(stubs, tweet, change)
    assert failures > 0, "the kill should have failed some calls"
    await wait_serving("tweets")
    await parts.relay.relay_once(range(16), now=time.time() + 600, advance=False)
    shown = (await tweets.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=tweet),
                                   metadata=author.metadata)).tweet
    return shown, on, everyone


async def test_likes_survive_a_killed_process_with_exact_counts_and_no_duplicates(
        process_stubs: list[Stub], tweets: Stub, make_account: MakeAccount,
        replica: tuple[Components, FlakyPublisher], cql: Cql) -> None:
    shown, likers, _ = await storm_through_a_kill(tweets, make_account, process_stubs,
                                                  replica[0], like)
    assert shown.like_count == len(likers)
    rows = await cql.execute(await cql.prepare(
        "SELECT user_id FROM tweet_likers WHERE tweet_id = ?"), (shown.tweet_id,))
    listed = [r["user_id"] for r in rows]
    assert sorted(listed) == sorted(likers)  # each liker once, nobody else
    user_likes = await cql.prepare("SELECT tweet_id FROM user_likes WHERE user_id = ?")
    for user in sorted(likers)[:50]:
        assert [r["tweet_id"] for r in await cql.execute(user_likes, (user,))] == \
            [shown.tweet_id]


async def test_retweets_survive_a_killed_process_with_exact_counts_and_no_duplicates(
        process_stubs: list[Stub], tweets: Stub, make_account: MakeAccount,
        replica: tuple[Components, FlakyPublisher], cql: Cql) -> None:
    shown, retweeters, everyone = await storm_through_a_kill(tweets, make_account,
                                                             process_stubs, replica[0], retweet)
    assert shown.retweet_count == len(retweeters)
    index = await cql.prepare("SELECT tweet_id, retweet_of FROM user_tweets WHERE user_id = ?")
    alive = await cql.prepare("SELECT deleted, member FROM tweets WHERE tweet_id = ? AND kind = 0"
                              " LIMIT 1")
    sample = sorted(retweeters)[:40] + sorted(everyone - retweeters)[:20]
    for user in sample:  # each retweeter's one retweet, alive and indexed; nobody else's
        indexed = [r["tweet_id"] for r in await cql.execute(index, (user,))
                   if r["retweet_of"] == shown.tweet_id]
        assert len(indexed) == (1 if user in retweeters else 0), user
        for retweet_id in indexed:
            row = await cql.execute(alive, (retweet_id,))
            assert row
            assert not row[0]["deleted"]
