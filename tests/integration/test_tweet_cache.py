"""The tweet cache against the real services and Redis: versioned fills, edits
and deletes seen on the next read from every tier (this process's own hot
tier included), reads racing an edit, a restart of the tweets service, and
viewer flags right after the viewer's own like. The cache's own logic
(generations, unknown entries, TTLs, the hot tier) is unit-tested on fakeredis:
tests/unit/test_tweet_cache.py."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest
from twitter.tweets.v1 import cache_pb2, tweets_pb2, tweets_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from services.shared.stores import redis_client
from services.tweets.client.tweet_cache import INVALIDATIONS, TweetCache, Versioned
from services.tweets.client.viewer_flags import ViewerFlags
from tests.support.stack_control import control, processes, wait_serving
from tests.support.users import Account, MakeAccount
from tests.support.wait import eventually

if TYPE_CHECKING:
    Stub = tweets_pb2_grpc.TweetServiceAsyncStub


@pytest.fixture
async def channels(stack_env: dict[str, str]) -> AsyncIterator[list[grpc.aio.Channel]]:
    """Several connections: with more than one tweets process (SO_REUSEPORT), they
    land on different processes."""
    opened = [grpc.aio.insecure_channel(stack_env["TWEETS_ADDR"],
                                        options=[("grpc.use_local_subchannel_pool", 1)])
              for _ in range(6)]
    yield opened
    for channel in opened:
        await channel.close()


@pytest.fixture
async def cache(stack_env: dict[str, str]) -> AsyncIterator[TweetCache]:
    redis = redis_client.connect(stack_env["REDIS_URL"])
    yield TweetCache(redis)
    await redis.aclose()


async def post(stub: Stub, who: Account, content: str) -> tweets_pb2.Tweet:
    return (await stub.CreateTweet(tweets_pb2.CreateTweetRequest(content=content),
                                   metadata=who.metadata)).tweet


async def contents(stubs: list[Stub], who: Account, tweet_id: int) -> set[str]:
    """What every connection reads for the tweet ("" for not found)."""
    async def one(stub: Stub) -> str:
        try:
            reply = await stub.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=tweet_id),
                                        metadata=who.metadata)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise
            return ""
        return reply.tweet.content
    return set(await asyncio.gather(*(one(s) for s in stubs)))


async def test_a_fill_never_replaces_a_newer_version(cache: TweetCache) -> None:
    tweet_id = 9_100_000_000_000_000_000 + secrets.randbelow(10**15)
    newer = cache_pb2.CachedTweet(tweet=tweets_pb2.Tweet(tweet_id=tweet_id, content="new"))
    older = cache_pb2.CachedTweet(tweet=tweets_pb2.Tweet(tweet_id=tweet_id, content="old"))
    await cache.get([tweet_id])  # starts the cache (generation, stream position)
    await cache.changed([(tweet_id, Versioned(2_000, newer))])
    await cache.fill([(tweet_id, Versioned(1_000, older))])  # a slow reader's late fill
    other = TweetCache(cache._redis)  # another process: nothing hot
    assert (await other.get([tweet_id]))[tweet_id].tweet.content == "new"
    await cache.changed([(tweet_id, Versioned(3_000, older))])
    assert (await other.get([tweet_id]))[tweet_id].tweet.content == "old"


async def announced(cache: TweetCache) -> set[int]:
    """The tweet ids in the invalidation stream's newest entries."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await cache._redis.xrevrange(
        INVALIDATIONS, count=2000)  # type: ignore[assignment]
    return {int(i) for _, fields in entries for i in fields[b"ids"].split(b",") if i}


async def test_a_create_answers_as_reads_show_it_and_announces_no_invalidation(
        channels: list[grpc.aio.Channel], cache: TweetCache, make_account: MakeAccount) -> None:
    author, fan = await make_account("tk"), await make_account("tf")
    stubs = [tweets_pb2_grpc.TweetServiceStub(c) for c in channels]
    tweet = await post(stubs[0], author, "just posted #fresh")
    assert (tweet.author.username, tweet.content, tweet.like_count, tweet.liked_by_viewer) == (
        author.username, "just posted #fresh", 0, False)
    read = await stubs[1].GetTweet(tweets_pb2.GetTweetRequest(tweet_id=tweet.tweet_id),
                                   metadata=author.metadata)
    assert read.tweet == tweet
    # In the warm tier for every process, with nothing for readers to drop.
    assert (await cache.get([tweet.tweet_id]))[tweet.tweet_id].tweet.content == tweet.content
    assert tweet.tweet_id not in await announced(cache)
    await stubs[2].LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=tweet.tweet_id),
                             metadata=fan.metadata)
    assert tweet.tweet_id in await announced(cache)


async def test_edit_and_delete_are_seen_by_the_next_read_everywhere(
        channels: list[grpc.aio.Channel], cache: TweetCache, make_account: MakeAccount) -> None:
    author = await make_account("tc")
    stubs = [tweets_pb2_grpc.TweetServiceStub(c) for c in channels]
    tweet = await post(stubs[0], author, "first words")
    # Every tier holds the first revision: each process's hot tier, Redis, ours.
    for _ in range(3):
        assert await contents(stubs, author, tweet.tweet_id) == {"first words"}
    assert (await cache.get([tweet.tweet_id]))[tweet.tweet_id].tweet.content == "first words"

    await stubs[0].UpdateTweet(tweets_pb2.UpdateTweetRequest(
        tweet_id=tweet.tweet_id, content="second words"), metadata=author.metadata)
    assert await contents(stubs, author, tweet.tweet_id) == {"second words"}
    assert (await cache.get([tweet.tweet_id]))[tweet.tweet_id].tweet.content == "second words"

    await stubs[1].DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=tweet.tweet_id),
                               metadata=author.metadata)
    assert await contents(stubs, author, tweet.tweet_id) == {""}
    assert (await cache.get([tweet.tweet_id]))[tweet.tweet_id].deleted


async def test_reads_racing_an_edit_never_show_the_old_text_afterwards(
        channels: list[grpc.aio.Channel], make_account: MakeAccount) -> None:
    author = await make_account("tr")
    stubs = [tweets_pb2_grpc.TweetServiceStub(c) for c in channels]
    tweet = await post(stubs[0], author, "revision 1")
    for revision in range(2, 6):
        racing = asyncio.gather(*(contents(stubs, author, tweet.tweet_id) for _ in range(20)))
        await stubs[revision % len(stubs)].UpdateTweet(tweets_pb2.UpdateTweetRequest(
            tweet_id=tweet.tweet_id, content=f"revision {revision}"), metadata=author.metadata)
        seen = set().union(*await racing)
        assert seen <= {f"revision {revision - 1}", f"revision {revision}"}
        # Once the edit has answered, no tier anywhere serves the older text.
        assert await contents(stubs, author, tweet.tweet_id) == {f"revision {revision}"}


async def test_no_stale_revision_after_the_tweets_service_restarts(
        channels: list[grpc.aio.Channel], make_account: MakeAccount) -> None:
    author = await make_account("ts")
    stubs = [tweets_pb2_grpc.TweetServiceStub(c) for c in channels]
    tweet = await post(stubs[0], author, "before the restart")
    assert await contents(stubs, author, tweet.tweet_id) == {"before the restart"}
    await stubs[0].UpdateTweet(tweets_pb2.UpdateTweetRequest(
        tweet_id=tweet.tweet_id, content="edited before the restart"), metadata=author.metadata)
    await control("restart", *processes("tweets"))
    await wait_serving("tweets")

    async def read() -> set[str]:
        return await contents(stubs, author, tweet.tweet_id)
    # channels reconnect with a backoff of their own
    found = await eventually(read, within=30, every=0.2, what="reads after the restart",
                             ignoring=(grpc.aio.AioRpcError,))
    assert found == {"edited before the restart"}


async def test_viewer_flags_are_right_after_the_viewers_own_like(
        channels: list[grpc.aio.Channel], stack_env: dict[str, str],
        make_account: MakeAccount) -> None:
    author, fan = await make_account("fa"), await make_account("fb")
    stubs = [tweets_pb2_grpc.TweetServiceStub(c) for c in channels]
    tweets = [await post(stubs[0], author, f"likeable {n}") for n in range(3)]
    ids = [t.tweet_id for t in tweets]

    internal = internal_channel(stack_env["TWEETS_ADDR"],
                                AuthSettings().internal_token.get_secret_value())
    batch = tweets_pb2_grpc.TweetServiceStub(internal)

    async def flags() -> set[tuple[int, bool, bool]]:
        reply = await batch.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
            tweet_ids=ids, viewer_user_id=fan.user_id))
        return {(t.tweet_id, t.liked_by_viewer, t.retweeted_by_viewer) for t in reply.tweets}

    assert await flags() == {(i, False, False) for i in ids}
    redis = redis_client.connect(stack_env["REDIS_URL"])
    try:

        async def materialised() -> bool:
            return await ViewerFlags(redis).get(fan.user_id, ids) is not None
        # the first read materialises the fan's set in the background
        await eventually(materialised, within=5, what="the fan's flags in Redis")
        assert await ViewerFlags(redis).get(fan.user_id, ids) == (set(), set())
        await stubs[1].LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=ids[0]),
                                 metadata=fan.metadata)
        await stubs[2].Retweet(tweets_pb2.RetweetRequest(tweet_id=ids[1]), metadata=fan.metadata)
        assert await flags() == {(ids[0], True, False), (ids[1], False, True),
                                 (ids[2], False, False)}
        assert await ViewerFlags(redis).get(fan.user_id, ids) == ({ids[0]}, {ids[1]})
        await stubs[3].UnlikeTweet(tweets_pb2.UnlikeTweetRequest(tweet_id=ids[0]),
                                   metadata=fan.metadata)
        assert await flags() == {(ids[0], False, False), (ids[1], False, True),
                                 (ids[2], False, False)}
        liked = await stubs[0].GetTweet(tweets_pb2.GetTweetRequest(tweet_id=ids[1]),
                                        metadata=author.metadata)
        assert liked.tweet.retweet_count == 1  # counts refreshed with the change
    finally:
        await redis.aclose()
        await internal.close()
