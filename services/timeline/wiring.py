"""What the timeline server and the fanout worker both need, connected once:
Redis (with the timeline store), and clients of the users and tweets services."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.timeline.settings import TimelineSettings
from services.timeline.store import TimelineStore


@dataclass(frozen=True)
class Connections:
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
