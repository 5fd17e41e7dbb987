"""The search service's composition root: builds the backend, peer clients
and service objects from settings, for the query server, the indexer and tests
alike."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.search.backend import SearchBackend
from services.search.indexer import Indexer
from services.search.meili.backend import MeilisearchBackend
from services.search.postgres.backend import PostgresBackend
from services.search.service import Search
from services.search.settings import SearchSettings
from services.search.trends import Trends
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores import redis_client
from services.shared.stores.postgres import open_pool
from services.shared.stores.redis_client import RedisClient
from services.users.client.relations import RelationsCache


async def backend_for(settings: SearchSettings) -> SearchBackend:
    if settings.meilisearch_url:
        key = settings.meilisearch_api_key.get_secret_value() \
            if settings.meilisearch_api_key else None
        meili = MeilisearchBackend(settings.meilisearch_url, key,
                                   prefix=settings.meilisearch_index_prefix)
        await meili.setup()
        return meili
    return PostgresBackend(await open_pool(settings, "search"))


@dataclass(frozen=True)
class Service:
    """The query side over its connections."""

    search: Search
    backend: SearchBackend
    redis: RedisClient
    users_channel: grpc.aio.Channel  # also where the JWKS comes from
    tweets_channel: grpc.aio.Channel

    async def close(self) -> None:
        await self.backend.close()
        await self.redis.aclose()
        await self.users_channel.close()
        await self.tweets_channel.close()


async def build(settings: SearchSettings) -> Service:
    token = settings.internal_token.get_secret_value()
    users_channel = internal_channel(settings.users_addr, token, peer="users")
    tweets_channel = internal_channel(settings.tweets_addr, token, peer="tweets")
    redis = redis_client.connect(settings.redis_url)
    backend = await backend_for(settings)
    users = UsersClient(users_channel)
    search = Search(backend, users, TweetsClient(tweets_channel),
                    Trends(redis, window_minutes=settings.trends_window_minutes),
                    RelationsCache(redis, users))
    return Service(search, backend, redis, users_channel, tweets_channel)


@dataclass(frozen=True)
class IndexerService:
    """The indexing side (the worker) over its connections."""

    indexer: Indexer
    backend: SearchBackend
    redis: RedisClient

    async def close(self) -> None:
        await self.backend.close()
        await self.redis.aclose()


async def build_indexer(settings: SearchSettings) -> IndexerService:
    redis = redis_client.connect(settings.redis_url)
    backend = await backend_for(settings)
    indexer = Indexer(backend, Trends(redis, window_minutes=settings.trends_window_minutes),
                      max_delay=settings.index_batch_seconds)
    return IndexerService(indexer, backend, redis)
