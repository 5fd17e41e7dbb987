"""The search service's gRPC server: its servicer, interceptor and jobs over
what wiring.py builds."""

from __future__ import annotations

import grpc
from twitter.search.v1 import search_pb2, search_pb2_grpc

from services.search import wiring
from services.search.servicer import SearchServicer
from services.search.settings import SearchSettings
from services.shared.observability.logging import configure_logging
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.users.client.revocations import RevokedSessions

_SERVICES = [search_pb2.DESCRIPTOR.services_by_name["SearchService"]]


async def build(settings: SearchSettings) -> App:
    service = await wiring.build(settings)
    revoked = await RevokedSessions.open(settings.redis_url)
    interceptor = user_interceptor(settings, _SERVICES, service.users_channel, revoked)

    def register(server: grpc.aio.Server) -> None:
        search_pb2_grpc.add_SearchServiceServicer_to_server(SearchServicer(service.search),
                                                            server)

    async def stop() -> None:
        await revoked.close()
        await service.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[service.backend.required()],
               background={"revoked-sessions": revoked.run})


async def main() -> None:
    settings = SearchSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
