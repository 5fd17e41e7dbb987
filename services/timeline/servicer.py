"""gRPC transport of the timeline service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, TypeVar

import grpc
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.protobuf.message import Message
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc
from twitter.tweets.v1 import tweets_pb2

from services.shared.errors import PermissionDenied
from services.shared.messaging.events import timestamp_now
from services.shared.security.auth import caller_id, caller_session
from services.shared.streaming import live_events
from services.timeline.live import Deleted, LiveHub, LiveStream
from services.timeline.reader import Reader
from services.users.client.relations import masked, shows

Ctx = grpc.aio.ServicerContext[Any, Any]


class TimelineServicer(timeline_pb2_grpc.TimelineServiceServicer):
    def __init__(self, reader: Reader, live: LiveHub) -> None:
        self._reader = reader
        self._live = live

    async def GetHomeTimeline(self, request: timeline_pb2.GetHomeTimelineRequest,
                              context: Ctx) -> timeline_pb2.GetHomeTimelineResponse:
        tweets, token = await self._reader.home(caller_id(), request.user_id, request.page_size,
                                                request.page_token)
        return _page(timeline_pb2.GetHomeTimelineResponse(next_page_token=token), tweets)

    async def GetMentionsTimeline(self, request: timeline_pb2.GetMentionsTimelineRequest,
                                  context: Ctx) -> timeline_pb2.GetMentionsTimelineResponse:
        tweets, token = await self._reader.mentions(caller_id(), request.user_id,
                                                    request.page_size, request.page_token)
        return _page(timeline_pb2.GetMentionsTimelineResponse(next_page_token=token), tweets)

    async def GetListTimeline(self, request: timeline_pb2.GetListTimelineRequest,
                              context: Ctx) -> timeline_pb2.GetListTimelineResponse:
        tweets, token = await self._reader.list_timeline(caller_id(), request.list_id,
                                                         request.page_size, request.page_token)
        return _page(timeline_pb2.GetListTimelineResponse(next_page_token=token), tweets)

    async def StreamHomeTimeline(self, request: timeline_pb2.StreamHomeTimelineRequest,
                                 context: Ctx
                                 ) -> AsyncIterator[timeline_pb2.StreamHomeTimelineResponse]:
        async for message in live_events.ndjson(self._events(request.user_id),
                                                heartbeat=_heartbeat, wrap=_ndjson):
            yield message

    async def StreamHomeTimelineEvents(
            self, request: timeline_pb2.StreamHomeTimelineEventsRequest, context: Ctx
    ) -> AsyncIterator[timeline_pb2.StreamHomeTimelineEventsResponse]:
        after = live_events.last_event_id(context.invocation_metadata() or ())
        async for chunk in live_events.sse_chunks(self._events(request.user_id, after)):
            yield timeline_pb2.StreamHomeTimelineEventsResponse(body=chunk)

    def _events(self, user_id: int, after: int = 0) -> AsyncIterator[live_events.Item[Message]]:
        """The caller's home timeline as it changes: an `update` per new tweet
        of someone they follow (or their own), a `delete` per tweet of theirs
        deleted, blocks and mutes applied; with `after` (a Last-Event-ID),
        first the newer entries already there."""
        if caller_id() != user_id:
            raise PermissionDenied("you may only stream your own timeline")

        async def open_stream() -> LiveStream[Any]:
            following = set(await self._reader.following(user_id))
            return await self._live.open(user_id, caller_session(), following)

        async def render(item: tweets_pb2.Tweet | Deleted) -> list[live_events.Event[Message]]:
            quiet = await self._reader.quiet(user_id)
            if isinstance(item, Deleted):
                # No id: a client resuming from it would be sent old entries.
                return [] if item.author_id in quiet else [live_events.Event(
                    DELETE, timeline_pb2.DeletedEntry(tweet_id=item.tweet_id))]
            if not shows(item, quiet):
                return []  # by or of a user blocked either way, or muted
            masked(item, quiet)  # a quoted tweet of such a user shows as unavailable
            return [_update(item)]

        async def backlog() -> list[live_events.Event[Message]]:
            tweets, _ = await self._reader.home(user_id, user_id, BACKLOG, "")
            return [_update(t) for t in reversed(tweets) if t.tweet_id > after]

        return live_events.events(open_stream, render, backlog if after else None)


class _Page(Protocol):
    @property
    def entries(self) -> RepeatedCompositeFieldContainer[timeline_pb2.TimelineEntry]: ...


P = TypeVar("P", bound=_Page)


def _page(response: P, tweets: list[tweets_pb2.Tweet]) -> P:
    """The response with an entry per tweet: each tweet copied once, into its
    entry (TimelineEntry(tweet=t) in a list copied it twice, twice the time).
    The wire form is the same."""
    for tweet in tweets:
        response.entries.add().tweet.CopyFrom(tweet)
    return response


# At most this many entries are replayed to a client that reconnects.
BACKLOG = 100
UPDATE, DELETE = "update", "delete"  # the SSE event names (Mastodon's)


def _heartbeat() -> timeline_pb2.StreamHomeTimelineResponse:
    return timeline_pb2.StreamHomeTimelineResponse(
        heartbeat=timeline_pb2.Heartbeat(sent_at=timestamp_now()))


def _update(tweet: tweets_pb2.Tweet) -> live_events.Event[Message]:
    return live_events.Event(UPDATE, tweet, tweet.tweet_id)


def _ndjson(event: live_events.Event[Message]) -> timeline_pb2.StreamHomeTimelineResponse:
    if isinstance(event.message, timeline_pb2.DeletedEntry):
        return timeline_pb2.StreamHomeTimelineResponse(deleted=event.message)
    assert isinstance(event.message, tweets_pb2.Tweet)
    return timeline_pb2.StreamHomeTimelineResponse(
        entry=timeline_pb2.TimelineEntry(tweet=event.message))
