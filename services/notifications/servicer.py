"""gRPC transport of the notifications service: requests to inbox calls,
groups to protos (with their actors' profiles from the users service and, for
additions to lists, the lists' names)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from twitter.notifications.v1 import notifications_pb2 as pb
from twitter.notifications.v1 import notifications_pb2_grpc
from twitter.users.v1 import users_pb2

from services.notifications.domain import Group, Kind
from services.notifications.inbox import Inbox
from services.notifications.live import NotificationHub
from services.shared.fields.timestamps import to_timestamp
from services.shared.messaging.events import timestamp_now
from services.shared.rpc.peers import UsersClient
from services.shared.security.auth import caller_id, caller_session
from services.shared.streaming import live_events
from services.shared.streaming.live_streams import Listener, LiveStream

Ctx = grpc.aio.ServicerContext[Any, Any]


@dataclass(frozen=True)
class Details:
    """What groups are shown with besides their own rows: the actors'
    profiles, and the names of the lists LIST_ADDED groups are about."""

    profiles: Mapping[int, users_pb2.UserSummary]
    list_names: Mapping[int, str]


def group_pb(group: Group, *, unread: bool, details: Details) -> pb.NotificationGroup:
    list_name = (details.list_names.get(group.target.target_id, "")
                 if group.target.kind is Kind.LIST_ADDED else "")
    return pb.NotificationGroup(
        group_key=group.key, kind=int(group.target.kind),  # type: ignore[arg-type]
        target_id=group.target.target_id, actor_count=group.actor_count,
        recent_actor_ids=group.recent_actor_ids, latest_notification_id=group.latest_id,
        updated_at=to_timestamp(group.updated_at), unread=unread,
        recent_actors=[details.profiles[a] for a in group.recent_actor_ids
                       if a in details.profiles],
        list_name=list_name)


def _heartbeat() -> pb.StreamNotificationsResponse:
    return pb.StreamNotificationsResponse(heartbeat=pb.Heartbeat(sent_at=timestamp_now()))


class NotificationServicer(notifications_pb2_grpc.NotificationServiceServicer):
    def __init__(self, inbox: Inbox, hub: NotificationHub, users: UsersClient) -> None:
        self._inbox = inbox
        self._hub = hub
        self._users = users

    async def _details(self, user_id: int, groups: Iterable[Group]) -> Details:
        groups = list(groups)
        profiles, list_names = await asyncio.gather(
            self._users.summaries({a for g in groups for a in g.recent_actor_ids}),
            self._inbox.list_names(user_id, groups))
        return Details(profiles, list_names)

    async def ListNotifications(self, request: pb.ListNotificationsRequest,
                                context: Ctx) -> pb.ListNotificationsResponse:
        user_id = caller_id()
        shown, token = await self._inbox.page(user_id, request.page_size, request.page_token)
        details = await self._details(user_id, (s.group for s in shown))
        return pb.ListNotificationsResponse(
            groups=[group_pb(s.group, unread=s.unread, details=details) for s in shown],
            next_page_token=token)

    async def GetUnreadCount(self, request: pb.GetUnreadCountRequest,
                             context: Ctx) -> pb.GetUnreadCountResponse:
        count, position = await self._inbox.unread(caller_id())
        return pb.GetUnreadCountResponse(unread_count=count, last_read_notification_id=position)

    async def MarkNotificationsRead(self, request: pb.MarkNotificationsReadRequest,
                                    context: Ctx) -> pb.MarkNotificationsReadResponse:
        count, position = await self._inbox.mark_read(caller_id(),
                                                      request.up_to_notification_id)
        return pb.MarkNotificationsReadResponse(unread_count=count,
                                                last_read_notification_id=position)

    async def StreamNotifications(self, request: pb.StreamNotificationsRequest, context: Ctx
                                  ) -> AsyncIterator[pb.StreamNotificationsResponse]:
        async for message in live_events.ndjson(
                self._events(), heartbeat=_heartbeat,
                wrap=lambda e: pb.StreamNotificationsResponse(group=e.message)):
            yield message

    async def StreamNotificationEvents(self, request: pb.StreamNotificationEventsRequest,
                                       context: Ctx
                                       ) -> AsyncIterator[pb.StreamNotificationEventsResponse]:
        after = live_events.last_event_id(context.invocation_metadata() or ())
        async for chunk in live_events.sse_chunks(self._events(after)):
            yield pb.StreamNotificationEventsResponse(body=chunk)

    def _events(self, after: int = 0) -> AsyncIterator[live_events.Item[pb.NotificationGroup]]:
        """The caller's notification groups as they change: a `notification`
        per change, as the caller sees the group (hidden actors left out);
        with `after` (a Last-Event-ID), first the groups changed since."""
        user_id = caller_id()
        session = caller_session()

        async def open_stream() -> LiveStream[Listener]:
            return await self._hub.open(user_id, session)

        async def render(group: Group) -> list[live_events.Event[pb.NotificationGroup]]:
            events = []
            for shown in await self._inbox.shown(user_id, [group]):
                unread = await self._inbox.is_unread(user_id, shown)
                events.append(_notification(group_pb(
                    shown, unread=unread, details=await self._details(user_id, [shown]))))
            return events

        async def backlog() -> list[live_events.Event[pb.NotificationGroup]]:
            shown, _ = await self._inbox.page(user_id, BACKLOG, "")
            details = await self._details(user_id, (s.group for s in shown))
            return [_notification(group_pb(s.group, unread=s.unread, details=details))
                    for s in reversed(shown) if s.group.latest_id > after]

        return live_events.events(open_stream, render, backlog if after else None)


# At most this many groups are replayed to a client that reconnects.
BACKLOG = 100


def _notification(group: pb.NotificationGroup) -> live_events.Event[pb.NotificationGroup]:
    # One group id names each of the group's states: the state tells them apart.
    return live_events.Event("notification", group, group.latest_notification_id,
                             group.SerializeToString(deterministic=True))
