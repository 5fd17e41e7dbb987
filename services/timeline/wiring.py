"""The timeline's composition root: builds its store, peer clients and service
objects from settings, for the server, the fanout worker and tests alike."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from nats.aio.client import Client
from nats.js import JetStreamContext

from services.shared.messaging import events as jetstream
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.shared.streaming.live_streams import StreamSlots
from services.timeline.celebrities import CelebrityCopy
from services.timeline.fanout import Fanout
from services.timeline.hydrate import Hydrator
from services.timeline.live import SLOTS_PREFIX, LiveHub, StreamLimits
from services.timeline.reader import Reader
from services.timeline.recent_pages import RecentPages
from services.timeline.settings import TimelineSettings
from services.timeline.store import TimelineStore
from services.tweets.client.tweet_cache import TweetCache
from services.tweets.client.viewer_flags import ViewerFlags
from services.users.client.lists import ListAudiences
from services.users.client.relations import RelationsCache


@dataclass(frozen=True)
class Connections:
    """What the server and the fanout worker both need, connected once: Redis
    (with the timeline store), and clients of the users and tweets services."""

    redis: RedisClient
    store: TimelineStore
    users: UsersClient
    tweets: TweetsClient
    users_channel: grpc.aio.Channel  # also where the JWKS comes from
    tweets_channel: grpc.aio.Channel

    async def close(self) -> None:
        await self.redis.aclose()
        await self.users_channel.close()
        await self.tweets_channel.close()


def connect(settings: TimelineSettings) -> Connections:
    token = settings.internal_token.get_secret_value()
    users_channel = internal_channel(settings.users_addr, token, peer="users")
    tweets_channel = internal_channel(settings.tweets_addr, token, peer="tweets")
    redis = redis_client.connect(settings.redis_url)
    store = TimelineStore(redis, capacity=settings.timeline_capacity,
                          inactive_after_seconds=settings.inactive_after_seconds)
    return Connections(redis, store, UsersClient(users_channel), TweetsClient(tweets_channel),
                       users_channel, tweets_channel)


def reader(conn: Connections, celebrities: CelebrityCopy, *,
           recent_seconds: float = 0.0) -> Reader:
    """The read path: timelines, hydrated for their viewer."""
    hydrator = Hydrator(TweetCache(conn.redis), ViewerFlags(conn.redis), conn.users, conn.tweets)
    return Reader(conn.store, conn.users, conn.tweets, hydrator,
                  RelationsCache(conn.redis, conn.users),
                  ListAudiences(conn.redis, conn.users.list_audience), celebrities=celebrities,
                  recent=RecentPages(conn.store, ttl_seconds=recent_seconds))


def fanout(conn: Connections, settings: TimelineSettings) -> Fanout:
    """The write path the worker runs on tweet and follow events."""
    return Fanout(conn.store, conn.users, conn.tweets,
                  celebrity_threshold=settings.celebrity_threshold)


@dataclass(frozen=True)
class Service:
    """The read service: timelines and their live streams, over the connections."""

    conn: Connections
    reader: Reader
    celebrities: CelebrityCopy  # its refresh job runs beside the server
    live: LiveHub
    nc: Client
    js: JetStreamContext

    async def close(self) -> None:
        await self.live.stop()
        await self.nc.drain()
        await self.conn.close()


async def build(settings: TimelineSettings) -> Service:
    conn = connect(settings)
    nc, js = await jetstream.connect(settings.nats_url, name=settings.service_name)
    await conn.users.follow_profile_updates(nc)
    slots = StreamSlots(conn.redis, per_user=settings.stream_max_per_user,
                        lease_seconds=3 * settings.stream_heartbeat_seconds, prefix=SLOTS_PREFIX)
    live = LiveHub(nc, conn.tweets, heartbeat_seconds=settings.stream_heartbeat_seconds,
                   slots=slots, limits=StreamLimits(per_user=settings.stream_max_per_user,
                                                    max_seconds=settings.stream_max_seconds))
    await live.start()
    celebrities = CelebrityCopy(conn.store, refresh_seconds=settings.celebrity_refresh_seconds,
                                max_age_seconds=settings.celebrity_max_age_seconds)
    return Service(conn, reader(conn, celebrities,
                                recent_seconds=settings.recent_pages_seconds),
                   celebrities, live, nc, js)
