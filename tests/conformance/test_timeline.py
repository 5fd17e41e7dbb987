"""The timeline contract (twitter/timeline/v1/timeline.proto): a user reads
only their own timelines, pages newest first, tokens bound to their timeline."""

from __future__ import annotations

import grpc
import pytest
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from tests.support.conformance import Channels, NewUser, rejected
from tests.support.wait import eventually


@pytest.fixture(scope="module")
def timeline(channel: Channels) -> timeline_pb2_grpc.TimelineServiceAsyncStub:
    return timeline_pb2_grpc.TimelineServiceStub(channel("timeline"))


async def test_only_ones_own_timelines(timeline: timeline_pb2_grpc.TimelineServiceAsyncStub,
                                       new_user: NewUser) -> None:
    me, other = await new_user(), await new_user()
    home = await rejected(timeline.GetHomeTimeline(timeline_pb2.GetHomeTimelineRequest(
        user_id=other.user_id), metadata=me.auth))
    assert home.code() == grpc.StatusCode.PERMISSION_DENIED
    mentions = await rejected(timeline.GetMentionsTimeline(
        timeline_pb2.GetMentionsTimelineRequest(user_id=other.user_id), metadata=me.auth))
    assert mentions.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_home_pages_newest_first_and_tokens_belong_to_their_timeline(
        timeline: timeline_pb2_grpc.TimelineServiceAsyncStub, channel: Channels,
        new_user: NewUser) -> None:
    tweets = tweets_pb2_grpc.TweetServiceStub(channel("tweets"))
    me, other = await new_user(), await new_user()
    posted = [(await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(content=f"home {n}"),
                                        metadata=me.auth)).tweet.tweet_id for n in range(3)]

    async def pages() -> list[int] | None:
        seen: list[int] = []
        token = ""
        for _ in range(10):
            page = await timeline.GetHomeTimeline(timeline_pb2.GetHomeTimelineRequest(
                user_id=me.user_id, page_size=2, page_token=token), metadata=me.auth)
            assert len(page.entries) <= 2
            seen += [e.tweet.tweet_id for e in page.entries]
            token = page.next_page_token
            if not token:
                break
        return seen if len(seen) == len(posted) else None

    # One's own tweets join one's home timeline through the event stream.
    assert await eventually(pages, what="three tweets on the home timeline",
                            within=30, every=0.2) == posted[::-1]
    first = await timeline.GetHomeTimeline(timeline_pb2.GetHomeTimelineRequest(
        user_id=me.user_id, page_size=1), metadata=me.auth)
    assert first.next_page_token
    foreign = await rejected(timeline.GetHomeTimeline(timeline_pb2.GetHomeTimelineRequest(
        user_id=other.user_id, page_token=first.next_page_token), metadata=other.auth))
    assert foreign.code() == grpc.StatusCode.INVALID_ARGUMENT
    garbage = await rejected(timeline.GetHomeTimeline(timeline_pb2.GetHomeTimelineRequest(
        user_id=me.user_id, page_token="garbage"), metadata=me.auth))
    assert garbage.code() == grpc.StatusCode.INVALID_ARGUMENT
