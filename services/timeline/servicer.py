"""gRPC transport of the timeline service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc
from twitter.tweets.v1 import tweets_pb2

from services.shared import live_events
from services.shared.auth import caller_id, caller_session
from services.shared.errors import PermissionDenied
from services.shared.events import timestamp_now
from services.timeline.live import LiveHub, LiveStream
from services.timeline.reader import Reader
from services.users.client.relations import shows

Ctx = grpc.aio.ServicerContext[Any, Any]


class TimelineServicer(timeline_pb2_grpc.TimelineServiceServicer):
    def __init__(self, reader: Reader, live: LiveHub) -> None:
        self._reader = reader
        self._live = live

    async def GetHomeTimeline(self, request: timeline_pb2.GetHomeTimelineRequest,
                              context: Ctx) -> timeline_pb2.GetHomeTimelineResponse:
        tweets, token = await self._reader.home(caller_id(), request.user_id, request.page_size,
                                                request.page_token)
        return timeline_pb2.GetHomeTimelineResponse(
            entries=[timeline_pb2.TimelineEntry(tweet=t) for t in tweets], next_page_token=token)

    async def GetMentionsTimeline(self, request: timeline_pb2.GetMentionsTimelineRequest,
                                  context: Ctx) -> timeline_pb2.GetMentionsTimelineResponse:
        tweets, token = await self._reader.mentions(caller_id(), request.user_id,
                                                    request.page_size, request.page_token)
        return timeline_pb2.GetMentionsTimelineResponse(
            entries=[timeline_pb2.TimelineEntry(tweet=t) for t in tweets], next_page_token=token)

    async def StreamHomeTimeline(self, request: timeline_pb2.StreamHomeTimelineRequest,
                                 context: Ctx
                                 ) -> AsyncIterator[timeline_pb2.StreamHomeTimelineResponse]:
        async for message in live_events.ndjson(
                self._events(request.user_id), heartbeat=_heartbeat,
                wrap=lambda e: timeline_pb2.StreamHomeTimelineResponse(
                    entry=timeline_pb2.TimelineEntry(tweet=e.message))):
            yield message

    async def StreamHomeTimelineEvents(
            self, request: timeline_pb2.StreamHomeTimelineEventsRequest, context: Ctx
    ) -> AsyncIterator[timeline_pb2.StreamHomeTimelineEventsResponse]:
        after = live_events.last_event_id(context.invocation_metadata() or ())
        async for chunk in live_events.sse_chunks(self._events(request.user_id, after)):
            yield timeline_pb2.StreamHomeTimelineEventsResponse(body=chunk)

    def _events(self, user_id: int,
                after: int = 0) -> AsyncIterator[live_events.Item[tweets_pb2.Tweet]]:
        """The caller's home timeline as it grows: an `update` per new tweet
        of someone they follow (or their own), blocks and mutes applied; with
        `after` (a Last-Event-ID), first the newer entries already there."""
        if caller_id() != user_id:
            raise PermissionDenied("you may only stream your own timeline")

        async def open_stream() -> LiveStream[Any]:
            following = set(await self._reader.following(user_id))
            return await self._live.open(user_id, caller_session(), following)

        async def render(tweet: tweets_pb2.Tweet) -> list[live_events.Event[tweets_pb2.Tweet]]:
            if not shows(tweet, await self._reader.quiet(user_id)):
                return []  # by or of a user blocked either way, or muted
            return [_update(tweet)]

        async def backlog() -> list[live_events.Event[tweets_pb2.Tweet]]:
            tweets, _ = await self._reader.home(user_id, user_id, BACKLOG, "")
            return [_update(t) for t in reversed(tweets) if t.tweet_id > after]

        return live_events.events(open_stream, render, backlog if after else None)


# At most this many entries are replayed to a client that reconnects.
BACKLOG = 100


def _heartbeat() -> timeline_pb2.StreamHomeTimelineResponse:
    return timeline_pb2.StreamHomeTimelineResponse(
        heartbeat=timeline_pb2.Heartbeat(sent_at=timestamp_now()))


def _update(tweet: tweets_pb2.Tweet) -> live_events.Event[tweets_pb2.Tweet]:
    return live_events.Event("update", tweet, tweet.tweet_id)
