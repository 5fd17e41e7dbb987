"""Live notifications: the worker tells the server processes that a group
changed, and they pass it to the recipient's open streams.

Changes travel on core NATS subjects `live.notifications.<user id>`, outside
the event stream (`twitter.>`): they are not events to keep but hints for
whoever is connected now; a reader who missed one sees the group in the list.
A server process subscribes to a user's subject while that user has a stream
open on it. Queues, caps, lifetimes and revocation are the shared live
streams' (services/shared/streaming/live_streams.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.notifications.domain import Group, Kind, Target
from services.shared.observability.logging import get_logger
from services.shared.streaming.live_streams import (
    Listener,
    LiveStream,
    LiveStreams,
    StreamLimits,
    StreamSlots,
)

log = get_logger(__name__)
SLOTS_PREFIX = "notif"  # notif:{<id>}:streams (docs/REDIS_KEYS.md)


def subject(user_id: int) -> str:
    return f"live.notifications.{user_id}"


def encode(group: Group) -> bytes:
    t = group.target
    return json.dumps([t.recipient_id, int(t.kind), t.target_id, group.bucket,
                       group.actor_count, list(group.recent_actor_ids),
                       group.latest_id]).encode()


def decode(data: bytes) -> Group:
    recipient, kind, target, bucket, count, recent, latest = json.loads(data)
    return Group(Target(recipient, Kind(kind), target), bucket, count, tuple(recent), latest)


class LivePublisher:
    """The worker's side: a group's changes, sent to whoever listens."""

    def __init__(self, nc: Client) -> None:
        self._nc = nc

    async def __call__(self, group: Group) -> None:
        try:
            await self._nc.publish(subject(group.target.recipient_id), encode(group))
        except Exception:  # a hint: losing it only delays the reader to their next list
            log.warning("could not publish a live notification",
                        recipient_id=group.target.recipient_id)


class NotificationHub:
    """The server's side: each user's open streams in this process."""

    def __init__(self, nc: Client, *, heartbeat_seconds: float, slots: StreamSlots,
                 limits: StreamLimits) -> None:
        self._nc = nc
        self._streams: LiveStreams[Listener] = LiveStreams(
            heartbeat_seconds=heartbeat_seconds, slots=slots, limits=limits,
            on_close=self._closed)
        self._subs: dict[int, Subscription] = {}
        self._unsubscribing: set[asyncio.Task[None]] = set()  # held until done

    async def open(self, user_id: int, session_id: int | None) -> LiveStream[Listener]:
        """A new stream of the user's notification changes (the caller closes
        it). RESOURCE_EXHAUSTED when the user has as many open as allowed."""
        stream = await self._streams.open(Listener(user_id, session_id))
        if user_id not in self._subs:
            sub = await self._nc.subscribe(subject(user_id), cb=self._on_change)
            if user_id in self._subs:  # another open of the user's got there first
                await _unsubscribe(sub)
            else:
                self._subs[user_id] = sub
        return stream

    def _closed(self, listener: Listener) -> None:
        """After a stream closed: the user's subscription goes with their last."""
        if not self._streams.listeners(listener.user_id):
            sub = self._subs.pop(listener.user_id, None)
            if sub is not None:
                task = asyncio.get_running_loop().create_task(_unsubscribe(sub))
                self._unsubscribing.add(task)
                task.add_done_callback(self._unsubscribing.discard)

    def end_session(self, session_id: int) -> None:
        self._streams.end_session(session_id)

    async def stop(self) -> None:
        for sub in list(self._subs.values()):
            await _unsubscribe(sub)
        self._subs.clear()

    async def _on_change(self, msg: Msg) -> None:
        group = decode(msg.data)
        for listener in self._streams.listeners(group.target.recipient_id):
            listener.offer(group)


async def _unsubscribe(sub: Subscription) -> None:
    with contextlib.suppress(Exception):
        await sub.unsubscribe()
