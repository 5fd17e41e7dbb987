"""The tweets service's gRPC server: its servicers, interceptor and jobs over
what wiring.py builds."""

from __future__ import annotations

import grpc
from twitter.tweets.v1 import polls_pb2, polls_pb2_grpc, tweets_pb2, tweets_pb2_grpc

from services.shared.observability.logging import configure_logging
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.tweets import wiring
from services.tweets.polls.servicer import PollServicer
from services.tweets.servicer import TweetServicer
from services.tweets.settings import TweetsSettings
from services.users.client.revocations import RevokedSessions

_SERVICES = [tweets_pb2.DESCRIPTOR.services_by_name["TweetService"],
             polls_pb2.DESCRIPTOR.services_by_name["PollService"]]


async def build(settings: TweetsSettings) -> App:
    service = await wiring.build(settings)
    parts = service.parts
    revoked = await RevokedSessions.open(settings.redis_url)
    interceptor = user_interceptor(settings, _SERVICES, service.users_channel, revoked,
                                   idempotency=IdempotencyStore(service.redis))

    def register(server: grpc.aio.Server) -> None:
        tweets_pb2_grpc.add_TweetServiceServicer_to_server(
            TweetServicer(parts.tweets, parts.engagement, parts.reads, parts.visibility,
                          parts.bookmarks, parts.pages),
            server)
        polls_pb2_grpc.add_PollServiceServicer_to_server(
            PollServicer(parts.polls, parts.visibility), server)

    async def stop() -> None:
        await revoked.close()
        await service.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[service.cql.required()],
               background={**service.background(), "revoked-sessions": revoked.run})


async def main() -> None:
    settings = TweetsSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
