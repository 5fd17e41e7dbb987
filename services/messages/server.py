"""Wiring of the messages service: settings, stores, domain objects, servicer."""

from __future__ import annotations

from pathlib import Path

import grpc
from pydantic import SecretStr
from twitter.messages.v1 import messages_pb2, messages_pb2_grpc

from services.messages.conversations import Messenger
from services.messages.crypto import KeyConfigError, MessageCipher, dev_key_spec
from services.messages.repository import MessageStore
from services.messages.servicer import MessageServicer
from services.messages.users import UsersClient
from services.shared.config import (
    AuthSettings,
    PeerAddresses,
    RedisSettings,
    ScyllaSettings,
    ServerSettings,
    WorkerLeaseSettings,
)
from services.shared.observability.logging import configure_logging, get_logger
from services.shared.ports import SERVICE_PORTS
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.server import App, serve
from services.shared.security.user_tokens import user_interceptor
from services.shared.snowflake.cql_worker_lease import CqlLeaseStore
from services.shared.snowflake.ids import IdGenerator
from services.shared.snowflake.worker_lease import WorkerLease
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.users.client.relations import RelationsCache
from services.users.client.revocations import RevokedSessions

log = get_logger(__name__)

_SERVICES = [messages_pb2.DESCRIPTOR.services_by_name["MessageService"]]


class MessagesSettings(ServerSettings, ScyllaSettings, AuthSettings, PeerAddresses,
                       WorkerLeaseSettings, RedisSettings):
    service_name: str = "messages"
    grpc_port: int = SERVICE_PORTS["messages"]
    # `kid:base64,kid:base64`: the first key encrypts, all decrypt (see crypto.py).
    messages_keys: SecretStr | None = None
    # Without MESSAGES_KEYS, use (and create) a development key in a file; set
    # false in production so that a missing MESSAGES_KEYS fails the start.
    messages_allow_dev_key: bool = True
    # Default: <AUTH_KEYS_DIR>/../messages-keys/dev.key (.data/messages-keys/dev.key locally).
    messages_dev_key_file: Path | None = None
    auth_keys_dir: Path = Path(".data/keys")

    def dev_key_file(self) -> Path:
        return self.messages_dev_key_file or \
            self.auth_keys_dir.absolute().parent / "messages-keys" / "dev.key"


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


async def build(settings: MessagesSettings) -> App:
    cipher = load_cipher(settings)
    cql = await Cql.connect(settings)
    store = await MessageStore.open(cql)
    users_channel = internal_channel(settings.users_addr,
                                     settings.internal_token.get_secret_value(), peer="users")
    lease = await WorkerLease.start(await CqlLeaseStore.open(cql, "messages"),
                                    settings)
    redis = redis_client.connect(settings.redis_url)
    users = UsersClient(users_channel)
    messenger = Messenger(store, cipher, users, IdGenerator(lease),
                          RelationsCache(redis, users))
    revoked = await RevokedSessions.open(settings.redis_url)
    interceptor = user_interceptor(settings, _SERVICES, users_channel, revoked,
                                   idempotency=IdempotencyStore(redis))
    log.info("message keys loaded", encrypting_with=cipher.primary_key_id,
             decrypting_with=cipher.key_ids)

    def register(server: grpc.aio.Server) -> None:
        messages_pb2_grpc.add_MessageServiceServicer_to_server(MessageServicer(messenger),
                                                               server)

    async def stop() -> None:
        await users_channel.close()
        await redis.aclose()
        await revoked.close()
        await lease.stop()
        await cql.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[cql.required()],
               background={"revoked-sessions": revoked.run})


async def main() -> None:
    settings = MessagesSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
