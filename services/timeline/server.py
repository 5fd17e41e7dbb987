"""The timeline's gRPC server: the servicer, its interceptor and its jobs over
what wiring.py builds."""

from __future__ import annotations

import grpc
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc

from services.shared.messaging import consumer_lag
from services.shared.observability.logging import configure_logging
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.timeline import wiring
from services.timeline.servicer import TimelineServicer
from services.timeline.settings import TimelineSettings
from services.users.client.revocations import RevokedSessions

_SERVICES = [timeline_pb2.DESCRIPTOR.services_by_name["TimelineService"]]


async def build(settings: TimelineSettings) -> App:
    service = await wiring.build(settings)
    revoked = await RevokedSessions.open(settings.redis_url)
    revoked.on_revoke(service.live.end_session)
    interceptor = user_interceptor(settings, _SERVICES, service.conn.users_channel, revoked)

    def register(server: grpc.aio.Server) -> None:
        timeline_pb2_grpc.add_TimelineServiceServicer_to_server(
            TimelineServicer(service.reader, service.live), server)

    async def stop() -> None:
        await revoked.close()
        await service.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop],
               background={"revoked-sessions": revoked.run,
                           "celebrity-copy": service.celebrities.run,
                           # Lag of every durable (fanout and indexing), read by a
                           # process that is not the consumer.
                           "consumer-lag": consumer_lag.watch(service.js)})


async def main() -> None:
    settings = TimelineSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
