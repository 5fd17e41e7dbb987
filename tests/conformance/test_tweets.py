"""The tweets contract (twitter/tweets/v1/tweets.proto): validation, error
codes, idempotent likes and retweets, paging with tokens bound to their user."""

from __future__ import annotations

import grpc
import pytest
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from tests.support.conformance import Channels, NewUser, User, rejected, violations


@pytest.fixture(scope="module")
def tweets(channel: Channels) -> tweets_pb2_grpc.TweetServiceAsyncStub:
    return tweets_pb2_grpc.TweetServiceStub(channel("tweets"))


async def _post(tweets: tweets_pb2_grpc.TweetServiceAsyncStub, user: User,
                content: str = "conformance") -> tweets_pb2.Tweet:
    created = await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(content=content),
                                       metadata=user.auth)
    return created.tweet


async def test_content_is_validated(tweets: tweets_pb2_grpc.TweetServiceAsyncStub,
                                    new_user: NewUser) -> None:
    me = await new_user()
    for content in ["x" * 281, "   ", "bell\x07"]:
        error = await rejected(tweets.CreateTweet(
            tweets_pb2.CreateTweetRequest(content=content), metadata=me.auth))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, repr(content)
        assert "content" in violations(error)
    # 280 code points is the limit, not 280 bytes.
    posted = await _post(tweets, me, "é" * 280)
    assert posted.user_id == me.user_id


async def test_missing_tweets_and_other_authors_are_refused(
        tweets: tweets_pb2_grpc.TweetServiceAsyncStub, new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    missing = await rejected(tweets.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=1),
                                             metadata=me.auth))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    mine = await _post(tweets, me)
    error = await rejected(tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(
        tweet_id=mine.tweet_id), metadata=other.auth))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=mine.tweet_id),
                             metadata=me.auth)
    gone = await rejected(tweets.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=mine.tweet_id),
                                          metadata=me.auth))
    assert gone.code() == grpc.StatusCode.NOT_FOUND


async def test_likes_and_retweets_are_idempotent(
        tweets: tweets_pb2_grpc.TweetServiceAsyncStub, new_user: NewUser) -> None:
    author, fan = await new_user(), await new_user()
    tweet = await _post(tweets, author)
    for _ in range(2):
        liked = await tweets.LikeTweet(tweets_pb2.LikeTweetRequest(tweet_id=tweet.tweet_id),
                                       metadata=fan.auth)
        assert liked.tweet.like_count == 1
        assert liked.tweet.liked_by_viewer
    first = await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=tweet.tweet_id),
                                 metadata=fan.auth)
    again = await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=tweet.tweet_id),
                                 metadata=fan.auth)
    assert again.tweet.tweet_id == first.tweet.tweet_id
    assert again.tweet.retweet_of.retweet_count == 1
    for _ in range(2):
        await tweets.UnlikeTweet(tweets_pb2.UnlikeTweetRequest(tweet_id=tweet.tweet_id),
                                 metadata=fan.auth)
    got = await tweets.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=tweet.tweet_id),
                                metadata=fan.auth)
    assert (got.tweet.like_count, got.tweet.retweet_count) == (0, 1)


async def test_user_tweets_page_newest_first_and_tokens_belong_to_their_user(
        tweets: tweets_pb2_grpc.TweetServiceAsyncStub, new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    posted = [(await _post(tweets, me, f"tweet {n}")).tweet_id for n in range(5)]
    seen: list[int] = []
    token = ""
    first_token = ""
    for _ in range(10):
        page = await tweets.ListUserTweets(tweets_pb2.ListUserTweetsRequest(
            user_id=me.user_id, page_size=2, page_token=token), metadata=me.auth)
        assert len(page.tweets) <= 2
        seen += [t.tweet_id for t in page.tweets]
        token = page.next_page_token
        first_token = first_token or token
        if not token:
            break
    assert seen == posted[::-1]
    foreign = await rejected(tweets.ListUserTweets(tweets_pb2.ListUserTweetsRequest(
        user_id=other.user_id, page_size=2, page_token=first_token), metadata=me.auth))
    assert foreign.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_quotes_validate_their_target_and_embed_it(
        tweets: tweets_pb2_grpc.TweetServiceAsyncStub, new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    error = await rejected(tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content="q", quoted_tweet_id=-5), metadata=me.auth))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "quotedTweetId" in violations(error)
    missing = await rejected(tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content="q", quoted_tweet_id=1), metadata=me.auth))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    theirs = await _post(tweets, other, "quotable")
    quoted = (await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content="q", quoted_tweet_id=theirs.tweet_id), metadata=me.auth)).tweet
    assert (quoted.quoted_tweet_id, quoted.quoted_tweet.tweet_id) == (theirs.tweet_id,) * 2
    assert quoted.quoted_tweet.user_id == other.user_id


async def test_bookmarks_are_idempotent_and_tokens_belong_to_their_owner(
        tweets: tweets_pb2_grpc.TweetServiceAsyncStub, new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    posted = [await _post(tweets, other, f"bm {i}") for i in range(3)]
    for tweet in [*posted, posted[0]]:
        await tweets.BookmarkTweet(tweets_pb2.BookmarkTweetRequest(tweet_id=tweet.tweet_id),
                                   metadata=me.auth)
    page = await tweets.ListBookmarks(tweets_pb2.ListBookmarksRequest(page_size=2),
                                      metadata=me.auth)
    assert [b.tweet.tweet_id for b in page.bookmarks] == [posted[2].tweet_id,
                                                           posted[1].tweet_id]
    stolen = await rejected(tweets.ListBookmarks(tweets_pb2.ListBookmarksRequest(
        page_token=page.next_page_token), metadata=other.auth))
    assert stolen.code() == grpc.StatusCode.INVALID_ARGUMENT
    missing = await rejected(tweets.BookmarkTweet(tweets_pb2.BookmarkTweetRequest(tweet_id=1),
                                                  metadata=me.auth))
    assert missing.code() == grpc.StatusCode.NOT_FOUND
    await tweets.UnbookmarkTweet(tweets_pb2.UnbookmarkTweetRequest(tweet_id=1),
                                 metadata=me.auth)  # nothing to remove: a no-op
