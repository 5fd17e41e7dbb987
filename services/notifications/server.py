"""Wiring of the notifications read service."""

from __future__ import annotations

import grpc
from twitter.notifications.v1 import notifications_pb2, notifications_pb2_grpc

from services.notifications.inbox import Inbox
from services.notifications.live import SLOTS_PREFIX, NotificationHub
from services.notifications.repository import NotificationStore
from services.notifications.servicer import NotificationServicer
from services.notifications.settings import NotificationsSettings
from services.notifications.visibility import BlocksAndMutes
from services.shared.messaging import events as jetstream
from services.shared.observability.logging import configure_logging
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.peers import UsersClient
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.shared.streaming.live_streams import StreamLimits, StreamSlots
from services.users.client.relations import RelationsCache
from services.users.client.revocations import RevokedSessions

_SERVICES = [notifications_pb2.DESCRIPTOR.services_by_name["NotificationService"]]


async def build(settings: NotificationsSettings) -> App:
    cql = await Cql.connect(settings)
    redis = redis_client.connect(settings.redis_url)
    nc, _ = await jetstream.connect(settings.nats_url, name=settings.service_name)
    hub = NotificationHub(
        nc, heartbeat_seconds=settings.stream_heartbeat_seconds,
        slots=StreamSlots(redis, per_user=settings.stream_max_per_user,
                          lease_seconds=3 * settings.stream_heartbeat_seconds,
                          prefix=SLOTS_PREFIX),
        limits=StreamLimits(per_user=settings.stream_max_per_user,
                            max_seconds=settings.stream_max_seconds))
    users_channel = internal_channel(settings.users_addr,
                                     settings.internal_token.get_secret_value(), peer="users")
    users = UsersClient(users_channel)  # profiles of the actors, cached
    inbox = Inbox(await NotificationStore.open(cql),
                  BlocksAndMutes(RelationsCache(redis, users)),
                  window_seconds=settings.group_window_seconds)
    await users.follow_profile_updates(nc)
    revoked = await RevokedSessions.open(settings.redis_url)
    revoked.on_revoke(hub.end_session)
    interceptor = user_interceptor(settings, _SERVICES, users_channel, revoked,
                                   idempotency=IdempotencyStore(redis))

    def register(server: grpc.aio.Server) -> None:
        notifications_pb2_grpc.add_NotificationServiceServicer_to_server(
            NotificationServicer(inbox, hub, users), server)

    async def stop() -> None:
        await hub.stop()
        await revoked.close()
        await nc.drain()
        await redis.aclose()
        await users_channel.close()
        await cql.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[cql.required()],
               background={"revoked-sessions": revoked.run})


async def main() -> None:
    settings = NotificationsSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
