"""The messages service's gRPC server: its servicer, interceptor and jobs over
what wiring.py builds."""

from __future__ import annotations

import grpc
from twitter.messages.v1 import messages_pb2, messages_pb2_grpc

from services.messages import wiring
from services.messages.servicer import MessageServicer
from services.messages.settings import MessagesSettings
from services.shared.observability.logging import configure_logging
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.users.client.revocations import RevokedSessions

_SERVICES = [messages_pb2.DESCRIPTOR.services_by_name["MessageService"]]


async def build(settings: MessagesSettings) -> App:
    service = await wiring.build(settings)
    revoked = await RevokedSessions.open(settings.redis_url)
    interceptor = user_interceptor(settings, _SERVICES, service.users_channel, revoked,
                                   idempotency=IdempotencyStore(service.redis))

    def register(server: grpc.aio.Server) -> None:
        messages_pb2_grpc.add_MessageServiceServicer_to_server(
            MessageServicer(service.messenger), server)

    async def stop() -> None:
        await revoked.close()
        await service.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[service.cql.required()],
               background={"revoked-sessions": revoked.run})


async def main() -> None:
    settings = MessagesSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
