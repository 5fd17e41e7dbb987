"""Wiring of the timeline read service."""

from __future__ import annotations

import grpc
from redis.asyncio import Redis
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc

from services.shared import events as jetstream
from services.shared.clients import internal_channel
from services.shared.logging import configure_logging
from services.shared.peers import TweetsClient, UsersClient
from services.shared.server import App, serve
from services.shared.user_tokens import user_interceptor
from services.timeline.live import LiveHub
from services.timeline.reader import Reader
from services.timeline.servicer import TimelineServicer
from services.timeline.settings import TimelineSettings
from services.timeline.store import TimelineStore

_SERVICES = [timeline_pb2.DESCRIPTOR.services_by_name["TimelineService"]]


async def build(settings: TimelineSettings) -> App:
    token = settings.internal_token.get_secret_value()
    users_channel = internal_channel(settings.users_addr, token)
    tweets_channel = internal_channel(settings.tweets_addr, token)
    redis = Redis.from_url(settings.redis_url)
    store = TimelineStore(redis, capacity=settings.timeline_capacity,
                          inactive_after_seconds=settings.inactive_after_seconds)
    tweets = TweetsClient(tweets_channel)
    reader = Reader(store, redis, UsersClient(users_channel), tweets)
    nc, _ = await jetstream.connect(settings.nats_url, name=settings.service_name)
    live = LiveHub(nc, tweets, heartbeat_seconds=settings.stream_heartbeat_seconds)
    await live.start()
    interceptor = user_interceptor(settings, _SERVICES, users_channel)

    def register(server: grpc.aio.Server) -> None:
        timeline_pb2_grpc.add_TimelineServiceServicer_to_server(
            TimelineServicer(reader, live), server)

    async def stop() -> None:
        await live.stop()
        await nc.drain()
        await redis.aclose()
        await users_channel.close()
        await tweets_channel.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop])


async def main() -> None:
    settings = TimelineSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
