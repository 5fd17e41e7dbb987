"""The media service's gRPC server: its servicer, interceptor and jobs over
what wiring.py builds."""

from __future__ import annotations

import grpc
from twitter.media.v1 import media_pb2, media_pb2_grpc

from services.media import wiring
from services.media.servicer import MediaServicer
from services.media.settings import MediaSettings
from services.shared.observability.logging import configure_logging
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.shared.stores import redis_client
from services.users.client.revocations import RevokedSessions

_SERVICES = [media_pb2.DESCRIPTOR.services_by_name["MediaService"]]


async def build(settings: MediaSettings) -> App:
    service = await wiring.build(settings)
    users_channel = internal_channel(settings.users_addr,
                                     settings.internal_token.get_secret_value(), peer="users")
    revoked = await RevokedSessions.open(settings.redis_url)
    redis = redis_client.connect(settings.redis_url)  # idempotency keys
    interceptor = user_interceptor(settings, _SERVICES, users_channel, revoked,
                                   idempotency=IdempotencyStore(redis))

    def register(server: grpc.aio.Server) -> None:
        media_pb2_grpc.add_MediaServiceServicer_to_server(
            MediaServicer(service.library, service.urls), server)

    async def stop() -> None:
        await users_channel.close()
        await revoked.close()
        await redis.aclose()
        await service.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[service.cql.required()],
               background={**service.background(), "revoked-sessions": revoked.run})


async def main() -> None:
    settings = MediaSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
