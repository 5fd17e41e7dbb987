"""The messages service's composition root: builds its store, keys, peer
clients and service objects from settings, for the server and tests alike."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from services.messages.conversations import Messenger
from services.messages.crypto import KeyConfigError, MessageCipher, dev_key_spec
from services.messages.repository import MessageStore
from services.messages.settings import MessagesSettings
from services.messages.users import UsersClient
from services.shared.observability.logging import get_logger
from services.shared.rpc.clients import internal_channel
from services.shared.snowflake.cql_worker_lease import CqlLeaseStore
from services.shared.snowflake.ids import IdGenerator
from services.shared.snowflake.worker_lease import WorkerLease
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.shared.stores.redis_client import RedisClient
from services.users.client.relations import RelationsCache

log = get_logger(__name__)


def load_cipher(settings: MessagesSettings) -> MessageCipher:
    if settings.messages_keys is not None and settings.messages_keys.get_secret_value().strip():
        return MessageCipher.from_spec(settings.messages_keys.get_secret_value())
    if not settings.messages_allow_dev_key:
        raise KeyConfigError("MESSAGES_KEYS is not set (and MESSAGES_ALLOW_DEV_KEY is false)")
    path = settings.dev_key_file()
    cipher = MessageCipher.from_spec(dev_key_spec(path))
    log.warning("MESSAGES_KEYS is not set: encrypting messages with the DEVELOPMENT key"
                " from a local file; never use this in production", key_file=str(path))
    return cipher


@dataclass(frozen=True)
class Service:
    """The service objects over their connections."""

    messenger: Messenger
    cql: Cql
    redis: RedisClient
    lease: WorkerLease
    users_channel: grpc.aio.Channel  # also where the JWKS comes from

    async def close(self) -> None:
        await self.users_channel.close()
        await self.redis.aclose()
        await self.lease.stop()
        await self.cql.close()


async def build(settings: MessagesSettings) -> Service:
    cipher = load_cipher(settings)
    cql = await Cql.connect(settings)
    store = await MessageStore.open(cql)
    users_channel = internal_channel(settings.users_addr,
                                     settings.internal_token.get_secret_value(), peer="users")
    lease = await WorkerLease.start(await CqlLeaseStore.open(cql, "messages"), settings)
    redis = redis_client.connect(settings.redis_url)
    users = UsersClient(users_channel)
    messenger = Messenger(store, cipher, users, IdGenerator(lease),
                          RelationsCache(redis, users))
    log.info("message keys loaded", encrypting_with=cipher.primary_key_id,
             decrypting_with=cipher.key_ids)
    return Service(messenger, cql, redis, lease, users_channel)
