"""Wiring of the search query service."""

from __future__ import annotations

import grpc
from twitter.search.v1 import search_pb2, search_pb2_grpc

from services.search.service import Search
from services.search.servicer import SearchServicer
from services.search.settings import SearchSettings
from services.search.trends import Trends
from services.search.wiring import backend_for
from services.shared.observability.logging import configure_logging
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.shared.stores import redis_client
from services.users.client.relations import RelationsCache
from services.users.client.revocations import RevokedSessions

_SERVICES = [search_pb2.DESCRIPTOR.services_by_name["SearchService"]]


async def build(settings: SearchSettings) -> App:
    token = settings.internal_token.get_secret_value()
    users_channel = internal_channel(settings.users_addr, token, peer="users")
    tweets_channel = internal_channel(settings.tweets_addr, token, peer="tweets")
    redis = redis_client.connect(settings.redis_url)
    backend = await backend_for(settings)
    users = UsersClient(users_channel)
    search = Search(backend, users, TweetsClient(tweets_channel),
                    Trends(redis, window_minutes=settings.trends_window_minutes),
                    RelationsCache(redis, users))
    revoked = await RevokedSessions.open(settings.redis_url)
    interceptor = user_interceptor(settings, _SERVICES, users_channel, revoked)

    def register(server: grpc.aio.Server) -> None:
        search_pb2_grpc.add_SearchServiceServicer_to_server(SearchServicer(search), server)

    async def stop() -> None:
        await backend.close()
        await revoked.close()
        await redis.aclose()
        await users_channel.close()
        await tweets_channel.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[backend.required()],
               background={"revoked-sessions": revoked.run})


async def main() -> None:
    settings = SearchSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
