"""gRPC transport of the timeline service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc

from services.shared.auth import caller_id, caller_session
from services.shared.errors import PermissionDenied
from services.shared.events import timestamp_now
from services.timeline.live import LiveHub
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

    async def GetListTimeline(self, request: timeline_pb2.GetListTimelineRequest,
                              context: Ctx) -> timeline_pb2.GetListTimelineResponse:
        tweets, token = await self._reader.list_timeline(caller_id(), request.list_id,
                                                         request.page_size, request.page_token)
        return timeline_pb2.GetListTimelineResponse(
            entries=[timeline_pb2.TimelineEntry(tweet=t) for t in tweets], next_page_token=token)

    async def StreamHomeTimeline(self, request: timeline_pb2.StreamHomeTimelineRequest,
                                 context: Ctx
                                 ) -> AsyncIterator[timeline_pb2.StreamHomeTimelineResponse]:
        if caller_id() != request.user_id:
            raise PermissionDenied("you may only stream your own timeline")
        following = set(await self._reader.following(request.user_id))
        stream = await self._live.open(request.user_id, caller_session(), following)
        try:
            # A first heartbeat tells the client (and any proxy) the stream is open.
            yield timeline_pb2.StreamHomeTimelineResponse(
                heartbeat=timeline_pb2.Heartbeat(sent_at=timestamp_now()))
            async for tweet in stream:
                if tweet is not None and not shows(tweet, await self._reader.quiet(
                        request.user_id)):
                    continue  # by or of a user blocked either way, or muted
                if tweet is None:
                    yield timeline_pb2.StreamHomeTimelineResponse(
                        heartbeat=timeline_pb2.Heartbeat(sent_at=timestamp_now()))
                else:
                    yield timeline_pb2.StreamHomeTimelineResponse(
                        entry=timeline_pb2.TimelineEntry(tweet=tweet))
        finally:
            await stream.close()
