"""The notifications' composition root: builds the store, peer clients and
service objects from settings, for the server, the worker and tests alike."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from nats.aio.client import Client
from twitter.tweets.v1 import tweets_pb2

from services.notifications.inbox import Inbox
from services.notifications.live import SLOTS_PREFIX, LivePublisher, NotificationHub
from services.notifications.notifier import Notifier
from services.notifications.repository import NotificationStore
from services.notifications.settings import NotificationsSettings
from services.notifications.visibility import BlocksAndMutes
from services.shared.messaging import events as jetstream
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.shared.stores.redis_client import RedisClient
from services.shared.streaming.live_streams import StreamLimits, StreamSlots
from services.users.client.relations import RelationsCache


@dataclass(frozen=True)
class Connections:
    """Cassandra, Redis and the users service: what both processes use."""

    cql: Cql
    redis: RedisClient
    users: UsersClient  # profiles of the actors, cached
    users_channel: grpc.aio.Channel  # also where the JWKS comes from

    def relations(self) -> BlocksAndMutes:
        return BlocksAndMutes(RelationsCache(self.redis, self.users))

    async def close(self) -> None:
        await self.redis.aclose()
        await self.users_channel.close()
        await self.cql.close()


async def connect(settings: NotificationsSettings) -> Connections:
    cql = await Cql.connect(settings)
    users_channel = internal_channel(settings.users_addr,
                                     settings.internal_token.get_secret_value(), peer="users")
    return Connections(cql, redis_client.connect(settings.redis_url),
                       UsersClient(users_channel), users_channel)


async def inbox(conn: Connections, settings: NotificationsSettings) -> Inbox:
    """The read side: a user's grouped notifications."""
    return Inbox(await NotificationStore.open(conn.cql), conn.relations(),
                 window_seconds=settings.group_window_seconds)


@dataclass(frozen=True)
class Service:
    """The read service: the inbox and its live streams, over the connections."""

    conn: Connections
    inbox: Inbox
    hub: NotificationHub
    nc: Client

    async def close(self) -> None:
        await self.hub.stop()
        await self.nc.drain()
        await self.conn.close()


async def build(settings: NotificationsSettings) -> Service:
    conn = await connect(settings)
    nc, _ = await jetstream.connect(settings.nats_url, name=settings.service_name)
    hub = NotificationHub(
        nc, heartbeat_seconds=settings.stream_heartbeat_seconds,
        slots=StreamSlots(conn.redis, per_user=settings.stream_max_per_user,
                          lease_seconds=3 * settings.stream_heartbeat_seconds,
                          prefix=SLOTS_PREFIX),
        limits=StreamLimits(per_user=settings.stream_max_per_user,
                            max_seconds=settings.stream_max_seconds))
    box = await inbox(conn, settings)
    await conn.users.follow_profile_updates(nc)
    return Service(conn, box, hub, nc)


@dataclass(frozen=True)
class WorkerParts:
    notifier: Notifier
    tweets_channel: grpc.aio.Channel

    async def close(self) -> None:
        await self.tweets_channel.close()


async def notifier(conn: Connections, settings: NotificationsSettings,
                   nc: Client) -> WorkerParts:
    """The write side the worker runs on events; `nc` carries the live hints."""
    tweets_channel = internal_channel(settings.tweets_addr,
                                      settings.internal_token.get_secret_value(), peer="tweets")
    tweets = TweetsClient(tweets_channel)

    async def hydrate(ids: list[int]) -> list[tweets_pb2.Tweet]:
        return await tweets.hydrate(ids, viewer_id=0)

    return WorkerParts(Notifier(await NotificationStore.open(conn.cql), hydrate,
                                conn.relations(), LivePublisher(nc),
                                window_seconds=settings.group_window_seconds),
                       tweets_channel)
