"""The tweet store's reads of many tweets against the real Cassandra: a page's
cache misses, and a viewer's likes and retweets among a page's tweets, cost one
statement per READ_PARTITIONS tweets (IN on the partition key), not one each,
and still find each tweet's newest revision and version, nothing for an id
that has no tweet, and only the viewer's own flags."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY
from twitter.tweets.v1 import tweets_pb2

from services.shared.stores.cassandra import Cql
from services.tweets.repository import READ_PARTITIONS, TweetStore
from tests.support.tweets import post
from tests.support.users import MakeAccount

if TYPE_CHECKING:
    from twitter.tweets.v1 import tweets_pb2_grpc

    Stub = tweets_pb2_grpc.TweetServiceAsyncStub


def tweet_reads() -> float:
    return REGISTRY.get_sample_value("store_client_seconds_count", {
        "store": "cassandra", "family": "SELECT tweets", "outcome": "ok"}) or 0.0


async def test_many_tweets_are_read_a_chunk_a_statement(
        cql: Cql, tweets: Stub, make_account: MakeAccount) -> None:
    author = await make_account("reads")
    count = READ_PARTITIONS + 5
    posted = await asyncio.gather(*(post(tweets, author, f"read {n}") for n in range(count)))
    edited = posted[3]
    await tweets.UpdateTweet(tweets_pb2.UpdateTweetRequest(
        tweet_id=edited.tweet_id, content="read 3, edited"), metadata=author.metadata)
    store = await TweetStore.open(cql)
    missing = 9_000_000_000_000_000_000 + secrets.randbelow(10**15)  # decades ahead: no tweet
    ids = [t.tweet_id for t in posted] + [missing, posted[0].tweet_id]  # and a duplicate

    before = tweet_reads()
    found = await store.get_versioned(ids)

    assert tweet_reads() - before == 2  # 25 distinct tweets and an unknown id: 2 chunks
    assert set(found) == {t.tweet_id for t in posted}
    assert {t: r.current.content for t, (r, _) in found.items()} == {
        t.tweet_id: "read 3, edited" if t.tweet_id == edited.tweet_id else t.content
        for t in posted}
    assert all(r.user_id == author.user_id for r, _ in found.values())
    # The edit is a newer write than the create: the cache orders entries by it.
    assert found[edited.tweet_id][1] > found[posted[4].tweet_id][1] > 0


async def test_a_viewers_flags_on_many_tweets_are_read_a_chunk_a_statement(
        cql: Cql, tweets: Stub, make_account: MakeAccount) -> None:
    author, viewer = await make_account("reads"), await make_account("viewer")
    posted = await asyncio.gather(*(post(tweets, author, f"flag {n}")
                                    for n in range(READ_PARTITIONS + 5)))
    liked = {posted[n].tweet_id for n in (0, 7, READ_PARTITIONS + 2)}
    for tweet_id in liked | {posted[1].tweet_id}:
        await tweets.LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=tweet_id),
                               metadata=viewer.metadata)
    await tweets.UnlikeTweet(tweets_pb2.UnlikeTweetRequest(tweet_id=posted[1].tweet_id),
                             metadata=viewer.metadata)  # removed: not liked
    await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=posted[7].tweet_id),
                         metadata=viewer.metadata)
    store = await TweetStore.open(cql)

    before = tweet_reads()
    flags = await store.viewer_flags([t.tweet_id for t in posted], viewer.user_id)

    assert tweet_reads() - before == 2
    assert flags == (liked, {posted[7].tweet_id})
    # Another viewer's flags are theirs alone.
    assert await store.viewer_flags([t.tweet_id for t in posted], author.user_id) == (set(), set())
