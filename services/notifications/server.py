"""The notifications' gRPC server: the servicer, its interceptor and its jobs
over what wiring.py builds."""

from __future__ import annotations

import grpc
from twitter.notifications.v1 import notifications_pb2, notifications_pb2_grpc

from services.notifications import wiring
from services.notifications.servicer import NotificationServicer
from services.notifications.settings import NotificationsSettings
from services.shared.observability.logging import configure_logging
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.users.client.revocations import RevokedSessions

_SERVICES = [notifications_pb2.DESCRIPTOR.services_by_name["NotificationService"]]


async def build(settings: NotificationsSettings) -> App:
    service = await wiring.build(settings)
    conn = service.conn
    revoked = await RevokedSessions.open(settings.redis_url)
    revoked.on_revoke(service.hub.end_session)
    interceptor = user_interceptor(settings, _SERVICES, conn.users_channel, revoked,
                                   idempotency=IdempotencyStore(conn.redis))

    def register(server: grpc.aio.Server) -> None:
        notifications_pb2_grpc.add_NotificationServiceServicer_to_server(
            NotificationServicer(service.inbox, service.hub, conn.users), server)

    async def stop() -> None:
        await revoked.close()
        await service.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[conn.cql.required()],
               background={"revoked-sessions": revoked.run})


async def main() -> None:
    settings = NotificationsSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
