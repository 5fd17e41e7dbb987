"""Quote tweets and bookmarks (issue 35) in the tweets service, over gRPC against
the real Cassandra, Redis, users service and NATS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import grpc
import pytest
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from services.shared.snowflake.ids import min_id_at
from services.shared.stores.cassandra import Cql
from services.tweets.bookmark_store import BookmarkRow, BookmarkStore
from tests.support.tweets import get, post
from tests.support.users import Account, MakeAccount

if TYPE_CHECKING:
    Stub = tweets_pb2_grpc.TweetServiceAsyncStub


async def code_of(call: Awaitable[object]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await call
    return exc.value.code()


async def quote(tweets: Stub, who: Account, quoted: int, content: str = "quoting this"
                ) -> tweets_pb2.Tweet:
    response = await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content=content, quoted_tweet_id=quoted), metadata=who.metadata, timeout=60)
    return response.tweet


async def bookmarked(tweets: Stub, who: Account, page_size: int = 100) -> list[int]:
    ids: list[int] = []
    token = ""
    while True:
        page = await tweets.ListBookmarks(tweets_pb2.ListBookmarksRequest(
            page_size=page_size, page_token=token), metadata=who.metadata)
        ids += [b.tweet.tweet_id for b in page.bookmarks]
        token = page.next_page_token
        if not token:
            return ids


async def test_a_quote_embeds_the_quoted_tweet_and_a_retweet_of_it_is_quoted_as_the_original(
        tweets: Stub, make_account: MakeAccount) -> None:
    author, quoter, fan = (await make_account("a"), await make_account("q"),
                           await make_account("f"))
    original = await post(tweets, author, "the original")
    retweet = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=original.tweet_id),
                                    metadata=fan.metadata)).tweet
    made = await quote(tweets, quoter, retweet.tweet_id, "so true #quoted")
    assert made.kind == tweets_pb2.TWEET_KIND_ORIGINAL
    assert made.quoted_tweet_id == original.tweet_id
    assert made.quoted_tweet.content == "the original"
    assert made.quoted_tweet.author.username == author.username
    assert not made.quoted_tweet_unavailable
    assert made.hashtags == ["quoted"]
    read = await get(tweets, fan, made.tweet_id)
    assert read.quoted_tweet.tweet_id == original.tweet_id
    assert (await get(tweets, fan, original.tweet_id)).quote_count == 1
    # One level deep: a quote of the quote names it, and names nothing further.
    again = await quote(tweets, fan, made.tweet_id)
    assert again.quoted_tweet.tweet_id == made.tweet_id
    assert again.quoted_tweet.quoted_tweet_id == original.tweet_id
    assert not again.quoted_tweet.HasField("quoted_tweet")
    # A retweet of a quote carries the embed in its original.
    shared = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=made.tweet_id),
                                   metadata=author.metadata)).tweet
    batch = await tweets.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
        tweet_ids=[shared.tweet_id], viewer_user_id=fan.user_id))
    assert batch.tweets[0].retweet_of.quoted_tweet.tweet_id == original.tweet_id


async def test_quote_count_is_exact_under_concurrent_quotes_and_deletes(
        tweets: Stub, make_account: MakeAccount) -> None:
    author = await make_account("a")
    quoters = await asyncio.gather(*(make_account("q") for _ in range(30)))
    original = await post(tweets, author, "quote me")
    made = await asyncio.gather(*(quote(tweets, q, original.tweet_id) for q in quoters))
    assert (await get(tweets, author, original.tweet_id)).quote_count == 30
    await asyncio.gather(*(tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(
        tweet_id=m.tweet_id), metadata=q.metadata, timeout=60)
        for m, q in zip(made[:12], quoters[:12], strict=True)))
    assert (await get(tweets, author, original.tweet_id)).quote_count == 18


async def test_a_deleted_quoted_tweet_shows_as_unavailable_not_as_an_error(
        tweets: Stub, make_account: MakeAccount) -> None:
    author, quoter = await make_account("a"), await make_account("q")
    original = await post(tweets, author, "soon gone")
    made = await quote(tweets, quoter, original.tweet_id)
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=original.tweet_id),
                             metadata=author.metadata)
    read = await get(tweets, quoter, made.tweet_id)
    assert read.content == "quoting this"
    assert read.quoted_tweet_id == original.tweet_id
    assert read.quoted_tweet_unavailable
    assert not read.HasField("quoted_tweet")
    assert await code_of(quote(tweets, quoter, original.tweet_id)) == grpc.StatusCode.NOT_FOUND
    assert await code_of(quote(tweets, quoter, 4242)) == grpc.StatusCode.NOT_FOUND
    assert await code_of(quote(tweets, quoter, -1)) == grpc.StatusCode.INVALID_ARGUMENT


async def test_bookmarks_are_idempotent_under_concurrency_and_paged_newest_first(
        tweets: Stub, make_account: MakeAccount) -> None:
    author, reader, other = (await make_account("a"), await make_account("r"),
                             await make_account("o"))
    posted = [await post(tweets, author, f"b{i}") for i in range(5)]
    request = tweets_pb2.BookmarkTweetRequest(tweet_id=posted[0].tweet_id)
    answers = await asyncio.gather(*(tweets.BookmarkTweet(request, metadata=reader.metadata)
                                     for _ in range(10)))
    assert len({a.bookmarked_at.ToNanoseconds() for a in answers}) == 1
    for tweet in posted[1:]:
        await tweets.BookmarkTweet(tweets_pb2.BookmarkTweetRequest(tweet_id=tweet.tweet_id),
                                   metadata=reader.metadata)
    newest_first = [t.tweet_id for t in reversed(posted)]
    assert await bookmarked(tweets, reader, page_size=2) == newest_first
    # Private: another user's list is their own (empty), and no count shows them.
    assert await bookmarked(tweets, other) == []
    shown = await get(tweets, author, posted[0].tweet_id)
    assert (shown.like_count, shown.retweet_count) == (0, 0)
    # Removing is idempotent; bookmarking again puts it first.
    for _ in range(2):
        await tweets.UnbookmarkTweet(tweets_pb2.UnbookmarkTweetRequest(
            tweet_id=posted[4].tweet_id), metadata=reader.metadata)
    await tweets.BookmarkTweet(tweets_pb2.BookmarkTweetRequest(tweet_id=posted[1].tweet_id),
                               metadata=reader.metadata)
    assert await bookmarked(tweets, reader) == [t.tweet_id for t in reversed(posted[:4])]
    await tweets.UnbookmarkTweet(tweets_pb2.UnbookmarkTweetRequest(tweet_id=posted[0].tweet_id),
                                 metadata=reader.metadata)
    await tweets.BookmarkTweet(tweets_pb2.BookmarkTweetRequest(tweet_id=posted[0].tweet_id),
                               metadata=reader.metadata)
    assert (await bookmarked(tweets, reader))[0] == posted[0].tweet_id
    assert await code_of(tweets.BookmarkTweet(tweets_pb2.BookmarkTweetRequest(tweet_id=4242),
                                              metadata=reader.metadata)
                         ) == grpc.StatusCode.NOT_FOUND


async def test_a_deleted_tweets_bookmark_is_gone_and_its_rows_dropped(
        tweets: Stub, make_account: MakeAccount, cql: Cql) -> None:
    author, reader = await make_account("a"), await make_account("r")
    kept, doomed = await post(tweets, author, "kept"), await post(tweets, author, "doomed")
    for tweet in (kept, doomed):
        await tweets.BookmarkTweet(tweets_pb2.BookmarkTweetRequest(tweet_id=tweet.tweet_id),
                                   metadata=reader.metadata)
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=doomed.tweet_id),
                             metadata=author.metadata)
    assert await bookmarked(tweets, reader) == [kept.tweet_id]
    store = await BookmarkStore.open(cql)
    assert await store.current_of(reader.user_id, [kept.tweet_id, doomed.tweet_id]) == {
        kept.tweet_id: (await store.page(reader.user_id, 1 << 62, 10))[0].bookmark_id}
    assert [r.tweet_id for r in await store.page(reader.user_id, 1 << 62, 10)] == [
        kept.tweet_id]


async def test_a_list_row_no_claim_names_is_skipped_and_dropped_once_old(
        tweets: Stub, make_account: MakeAccount, cql: Cql) -> None:
    """What an add that died between its list row and its claim leaves."""
    author, reader = await make_account("a"), await make_account("r")
    tweet = await post(tweets, author, "half bookmarked")
    store = await BookmarkStore.open(cql)
    old = min_id_at(datetime.now(UTC) - timedelta(minutes=5)) + 1
    await store.list_row(reader.user_id, BookmarkRow(old, tweet.tweet_id))
    assert await bookmarked(tweets, reader) == []
    assert await store.page(reader.user_id, 1 << 62, 10) == []
    # A fresh one may be a claim in flight: skipped, but left in place.
    fresh = min_id_at(datetime.now(UTC)) + 1
    await store.list_row(reader.user_id, BookmarkRow(fresh, tweet.tweet_id))
    assert await bookmarked(tweets, reader) == []
    assert len(await store.page(reader.user_id, 1 << 62, 10)) == 1
