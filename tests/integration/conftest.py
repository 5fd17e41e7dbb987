"""Fixtures the integration tests share: the tweets service's stubs, a CQL
session, JetStream, a second in-process "replica" of the service; and a client
of the stack's Redis Cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import grpc
import pytest
from nats.js import JetStreamContext
from redis.asyncio import RedisCluster
from twitter.tweets.v1 import tweets_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.messaging import events as jetstream
from services.shared.rpc.clients import internal_channel
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.tweets.settings import TweetsSettings
from services.tweets.wiring import Components, assemble
from tests.support.tweets import FlakyPublisher

if TYPE_CHECKING:
    Stub = tweets_pb2_grpc.TweetServiceAsyncStub


@pytest.fixture(scope="session")
async def tweets_channel(stack_env: dict[str, str]) -> AsyncIterator[grpc.aio.Channel]:
    channel = internal_channel(stack_env["TWEETS_ADDR"],
                               AuthSettings().internal_token.get_secret_value())
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def tweets(tweets_channel: grpc.aio.Channel) -> Stub:
    return tweets_pb2_grpc.TweetServiceStub(tweets_channel)


@pytest.fixture(scope="session")
async def cql(stack_env: dict[str, str]) -> AsyncIterator[Cql]:
    session = await Cql.connect(TweetsSettings())
    yield session
    await session.close()


@pytest.fixture(scope="session")
async def js(stack_env: dict[str, str]) -> AsyncIterator[JetStreamContext]:
    nc, context = await jetstream.connect(stack_env["NATS_URL"], name="tweets-test")
    yield context
    await nc.close()


@pytest.fixture
async def replica(cql: Cql, users_channel: grpc.aio.Channel, js: JetStreamContext,
                  stack_env: dict[str, str]
                  ) -> AsyncIterator[tuple[Components, FlakyPublisher]]:
    """A second, in-process tweets "replica" on the same keyspace."""
    publisher = FlakyPublisher(js)
    settings = TweetsSettings(edit_window_minutes=0)  # every tweet is past its edit window
    media_channel = internal_channel(stack_env["MEDIA_ADDR"],
                                     settings.internal_token.get_secret_value())
    redis = redis_client.connect(stack_env["REDIS_URL"])
    parts = await assemble(settings, cql, users_channel, publisher, media_channel, redis)
    yield parts, publisher
    await parts.outbox.close()  # as the server stops: no discard left pending
    await parts.lease.stop()
    await media_channel.close()
    await redis.aclose()


@pytest.fixture
async def cluster(stack_env: dict[str, str]) -> AsyncIterator[RedisCluster]:
    """The stack's Redis Cluster (tests that move slots or count nodes need one:
    skipped on a single Redis, REDIS_MODE=single)."""
    if not redis_client.is_cluster_url(stack_env["REDIS_URL"]):
        pytest.skip("a single Redis has no slots or nodes to speak of (REDIS_MODE=single)")
    client = redis_client.connect(stack_env["REDIS_URL"], socket_timeout=5)
    assert isinstance(client, RedisCluster)
    await client.initialize()
    yield client
    await client.aclose()
