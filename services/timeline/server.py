"""Wiring of the timeline read service."""

from __future__ import annotations

import grpc
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc

from services.shared.messaging import consumer_lag
from services.shared.messaging import events as jetstream
from services.shared.observability.logging import configure_logging
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.shared.streaming.live_streams import StreamSlots
from services.timeline import wiring
from services.timeline.hydrate import Hydrator
from services.timeline.live import SLOTS_PREFIX, LiveHub, StreamLimits
from services.timeline.reader import Reader
from services.timeline.servicer import TimelineServicer
from services.timeline.settings import TimelineSettings
from services.tweets.client.tweet_cache import TweetCache
from services.tweets.client.viewer_flags import ViewerFlags
from services.users.client.lists import ListAudiences
from services.users.client.relations import RelationsCache
from services.users.client.revocations import RevokedSessions

_SERVICES = [timeline_pb2.DESCRIPTOR.services_by_name["TimelineService"]]


async def build(settings: TimelineSettings) -> App:
    conn = wiring.connect(settings)
    hydrator = Hydrator(TweetCache(conn.redis), ViewerFlags(conn.redis), conn.users, conn.tweets)
    reader = Reader(conn.store, conn.users, conn.tweets, hydrator,
                    RelationsCache(conn.redis, conn.users),
                    ListAudiences(conn.redis, conn.users.list_audience))
    nc, js = await jetstream.connect(settings.nats_url, name=settings.service_name)
    await conn.users.follow_profile_updates(nc)
    slots = StreamSlots(conn.redis, per_user=settings.stream_max_per_user,
                        lease_seconds=3 * settings.stream_heartbeat_seconds, prefix=SLOTS_PREFIX)
    live = LiveHub(nc, conn.tweets, heartbeat_seconds=settings.stream_heartbeat_seconds,
                   slots=slots, limits=StreamLimits(per_user=settings.stream_max_per_user,
                                                    max_seconds=settings.stream_max_seconds))
    await live.start()
    revoked = await RevokedSessions.open(settings.redis_url)
    revoked.on_revoke(live.end_session)
    interceptor = user_interceptor(settings, _SERVICES, conn.users_channel, revoked)

    def register(server: grpc.aio.Server) -> None:
        timeline_pb2_grpc.add_TimelineServiceServicer_to_server(
            TimelineServicer(reader, live), server)

    async def stop() -> None:
        await live.stop()
        await revoked.close()
        await nc.drain()
        await conn.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop],
               background={"revoked-sessions": revoked.run,
                           # Lag of every durable (fanout and indexing), read by a
                           # process that is not the consumer.
                           "consumer-lag": consumer_lag.watch(js)})


async def main() -> None:
    settings = TimelineSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
