"""The shared live event sequence (services/shared/streaming/live_events.py) on real live
streams (LiveStreams with their slots on the stack's Redis), short-lived and
with a short heartbeat: the SSE text on the wire, periodic heartbeats, the
Last-Event-ID backlog without repeats, what the render leaves out, and the
stream's slot freed when it ends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from twitter.tweets.v1 import tweets_pb2

from services.shared.errors import InvalidArgument
from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.shared.streaming import live_events
from services.shared.streaming.live_events import Event
from services.shared.streaming.live_streams import (
    Listener,
    LiveStream,
    LiveStreams,
    StreamLimits,
    StreamSlots,
)

HIDDEN_AUTHOR = 666


@pytest.fixture
async def redis(stack_env: dict[str, str]) -> AsyncIterator[RedisClient]:
    client = redis_client.connect(stack_env["REDIS_URL"])
    yield client
    await client.aclose()


def update(tweet_id: int, author: int = 1) -> Event[tweets_pb2.Tweet]:
    return Event("update", tweets_pb2.Tweet(tweet_id=tweet_id, user_id=author,
                                            content=f"tweet {tweet_id}"), tweet_id)


async def render(tweet: tweets_pb2.Tweet) -> list[Event[tweets_pb2.Tweet]]:
    return [] if tweet.user_id == HIDDEN_AUTHOR else [update(tweet.tweet_id, tweet.user_id)]


async def test_the_sse_framing_of_a_stream_from_open_to_end(redis: RedisClient) -> None:
    slots = StreamSlots(redis, per_user=1, lease_seconds=5, prefix="test-live-events")
    streams: LiveStreams[Listener] = LiveStreams(
        heartbeat_seconds=0.1, slots=slots, limits=StreamLimits(per_user=1, max_seconds=1.0))
    user = time.time_ns()
    listener = Listener(user, None)

    async def open_stream() -> LiveStream[Listener]:
        return await streams.open(listener)

    async def backlog() -> list[Event[tweets_pb2.Tweet]]:
        # What a reconnecting client missed. Meanwhile tweet 11 arrives live
        # too (it was in both), then 12 (new) and one by a hidden author.
        for tweet_id, author in ((11, 1), (12, 1), (13, HIDDEN_AUTHOR)):
            listener.offer(update(tweet_id, author).message)
        return [update(10), update(11)]

    chunks = live_events.sse_chunks(live_events.events(open_stream, render, backlog))
    started = time.monotonic()
    texts = []
    async with asyncio.timeout(5):
        async for chunk in chunks:
            assert chunk.content_type == "text/event-stream"
            texts.append(chunk.data.decode())
    lasted = time.monotonic() - started

    heartbeat = ":heartbeat\n\n"
    assert texts[0] == f"retry: {live_events.RETRY_MS}\n{heartbeat}"
    events = [t for t in texts[1:] if t != heartbeat]
    assert [e.split("\n")[:2] for e in events] == [
        ["event: update", "id: 10"], ["event: update", "id: 11"], ["event: update", "id: 12"]]
    assert events[0].startswith('event: update\nid: 10\ndata: {"tweetId": "10", "userId": "1"')
    assert texts.count(heartbeat) >= 5  # every 0.1 s while idle, for about a second
    assert 0.9 < lasted < 3  # the stream's lifetime, then a clean end
    assert not list(streams.listeners(user))
    assert await redis.zcard(slots.key(user)) == 0  # its slot is free again


def test_an_events_data_is_the_proto3_json_mapping_on_one_line() -> None:
    text = live_events.sse_text(update(2**62 + 1))
    name, event_id, data, blank, end = text.split("\n")
    assert (name, event_id, blank, end) == ("event: update", f"id: {2**62 + 1}", "", "")
    # lowerCamelCase, int64 as a string, every scalar present (replyToTweetId "0").
    assert data.startswith('data: {"tweetId": "4611686018427387905", "userId": "1"')
    assert '"replyToTweetId": "0"' in data


@pytest.mark.parametrize(("sent", "expected"), [
    ([], 0), ([("last-event-id", "")], 0), ([("Last-Event-ID", "42")], 42),
    ([("x-other", "7"), ("last-event-id", b"9223372036854775807")], 2**63 - 1),
])
def test_last_event_id_is_read_from_the_metadata(sent: list[tuple[str, str | bytes]],
                                                expected: int) -> None:
    assert live_events.last_event_id(sent) == expected


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "9223372036854775808", "\uff11\uff12"])
def test_a_last_event_id_that_we_never_sent_is_invalid(value: str) -> None:
    with pytest.raises(InvalidArgument, match="Last-Event-ID"):
        live_events.last_event_id([("last-event-id", value)])
