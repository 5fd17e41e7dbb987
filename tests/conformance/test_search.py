"""The search contract (twitter/search/v1/search.proto): query validation and
page tokens bound to their query."""

from __future__ import annotations

import grpc
import pytest
from twitter.search.v1 import search_pb2, search_pb2_grpc
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from tests.support.conformance import Channels, NewUser, rejected, unique, violations
from tests.support.wait import eventually


@pytest.fixture(scope="module")
def search(channel: Channels) -> search_pb2_grpc.SearchServiceAsyncStub:
    return search_pb2_grpc.SearchServiceStub(channel("search"))


async def test_queries_are_validated(search: search_pb2_grpc.SearchServiceAsyncStub,
                                     new_user: NewUser) -> None:
    me = await new_user()
    for q in ["", "x" * 501]:
        error = await rejected(search.SearchTweets(search_pb2.SearchTweetsRequest(q=q),
                                                   metadata=me.auth))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "q" in violations(error)
    users = await rejected(search.SearchUsers(search_pb2.SearchUsersRequest(q="x" * 101),
                                              metadata=me.auth))
    assert users.code() == grpc.StatusCode.INVALID_ARGUMENT
    trends = await rejected(search.GetTrends(search_pb2.GetTrendsRequest(limit=-1),
                                             metadata=me.auth))
    assert trends.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_results_page_and_tokens_belong_to_their_query(
        search: search_pb2_grpc.SearchServiceAsyncStub, channel: Channels,
        new_user: NewUser) -> None:
    tweets = tweets_pb2_grpc.TweetServiceStub(channel("tweets"))
    me = await new_user()
    word = unique("word")
    posted = [(await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content=f"{word} number {n}"), metadata=me.auth)).tweet.tweet_id for n in range(3)]

    async def pages() -> tuple[list[int], str] | None:
        seen: list[int] = []
        token, first_token = "", ""
        for _ in range(10):
            page = await search.SearchTweets(search_pb2.SearchTweetsRequest(
                q=word, page_size=2, page_token=token), metadata=me.auth)
            seen += [t.tweet_id for t in page.tweets]
            token = page.next_page_token
            first_token = first_token or token
            if not token:
                break
        return (seen, first_token) if len(seen) == len(posted) else None

    seen, token = await eventually(pages, what="three tweets indexed", within=30, every=0.2)
    assert seen == posted[::-1]
    assert token
    other = await rejected(search.SearchTweets(search_pb2.SearchTweetsRequest(
        q=unique("other"), page_token=token), metadata=me.auth))
    assert other.code() == grpc.StatusCode.INVALID_ARGUMENT
