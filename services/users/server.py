"""Wiring of the users service: settings, stores, domain objects, servicers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import grpc
from twitter.users.v1 import lists_pb2, lists_pb2_grpc, users_pb2, users_pb2_grpc

from services.shared.config import (
    AuthSettings,
    NatsSettings,
    PeerAddresses,
    PostgresSettings,
    RedisSettings,
    ServerSettings,
    WorkerLeaseSettings,
)
from services.shared.messaging import events as jetstream
from services.shared.messaging.pg_outbox import OutboxRelay
from services.shared.observability.logging import configure_logging, get_logger
from services.shared.ports import SERVICE_PORTS
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.interceptors import ServiceInterceptor, access_policy
from services.shared.rpc.peers import TweetsClient
from services.shared.rpc.server import App, serve
from services.shared.security.auth import TokenVerifier
from services.shared.snowflake.ids import IdGenerator
from services.shared.snowflake.pg_worker_lease import PgLeaseStore
from services.shared.snowflake.worker_lease import WorkerLease
from services.shared.stores import postgres, redis_client
from services.shared.stores.postgres import open_pool
from services.users.accounts import Accounts, LoginPolicy
from services.users.blocks import BlocksAndMutes
from services.users.client.lists import ListAudienceWriter
from services.users.client.revocations import RevokedSessions
from services.users.list_servicer import ListServicer
from services.users.lists import Lists
from services.users.login_throttle import FailurePurge, ThrottlePolicy
from services.users.passwords import Passwords
from services.users.pins import Pins
from services.users.retention import Retention
from services.users.revocations import RevocationAnnouncer
from services.users.servicer import AuthServicer, UserServicer
from services.users.social import Social
from services.users.tokens import AccessTokens, Keyring

log = get_logger(__name__)

_SERVICES = [*(users_pb2.DESCRIPTOR.services_by_name[n] for n in ("UserService", "AuthService")),
             lists_pb2.DESCRIPTOR.services_by_name["ListService"]]


class UsersSettings(ServerSettings, PostgresSettings, NatsSettings, AuthSettings,
                    WorkerLeaseSettings, RedisSettings, PeerAddresses):
    service_name: str = "users"
    grpc_port: int = SERVICE_PORTS["users"]
    auth_keys_dir: Path = Path(".data/keys")
    # A new key signs only this long after its kid's time, so every cached JWKS
    # (Envoy refreshes every 60 s) has it first. Production: a few minutes.
    auth_key_activation_seconds: float = 0.0
    auth_keys_reload_seconds: float = 30.0
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    # argon2id cost (RFC 9106 "low memory" profile by default).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    password_hash_threads: int = 2
    # Login throttle: after this many failures from one source an account (or
    # unknown name) locks for that source, doubling each time; after
    # login_account_free_attempts from all sources together, for everyone
    # (services/users/login_throttle.py).
    login_free_attempts: int = 5
    login_account_free_attempts: int = 100
    login_lock_base_seconds: float = 30.0
    login_lock_max_seconds: float = 900.0
    login_failure_reset_seconds: float = 3600.0
    # How often stale login_failures rows are deleted.
    login_failure_purge_seconds: float = 600.0
    # Retention: how often expired sessions and refresh tokens are purged, and
    # how long a revoked session is kept (past any access token it issued).
    session_purge_interval_seconds: float = 600.0
    revoked_session_retention_seconds: float = 86_400.0


async def build(settings: UsersSettings) -> App:
    pool = await open_pool(settings, "users")
    nc, js = await jetstream.connect(settings.nats_url, name=settings.service_name)
    await jetstream.ensure_stream(js, jetstream.StreamLimits.of(settings))
    relay = OutboxRelay(pool, js, settings.pg_dsn.get_secret_value())

    keyring = Keyring.load(settings.auth_keys_dir, activation_delay=timedelta(
        seconds=settings.auth_key_activation_seconds))
    passwords = Passwords(time_cost=settings.argon2_time_cost,
                          memory_kib=settings.argon2_memory_kib,
                          parallelism=settings.argon2_parallelism,
                          threads=settings.password_hash_threads)
    access_tokens = AccessTokens(keyring, issuer=settings.jwt_issuer,
                                 audience=settings.jwt_audience,
                                 ttl_seconds=settings.access_token_ttl_seconds)
    lease = await WorkerLease.start(PgLeaseStore(pool, "users"), settings)
    redis = redis_client.connect(settings.redis_url)
    # Past this, no access token of a revoked session is valid anyway.
    window = settings.access_token_ttl_seconds + settings.jwt_leeway_seconds
    announcer = RevocationAnnouncer(pool, redis, window_seconds=window)
    revoked = await RevokedSessions.open(settings.redis_url)
    retention = Retention(pool, revoked_grace=timedelta(seconds=max(
        window, settings.revoked_session_retention_seconds)))
    ids = IdGenerator(lease)  # one per process: user and list ids alike
    accounts = Accounts(pool, ids, passwords, keyring, access_tokens,
                        LoginPolicy(
                            refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
                            throttle=ThrottlePolicy(
                                free_attempts=settings.login_free_attempts,
                                account_free_attempts=settings.login_account_free_attempts,
                                lock_base_seconds=settings.login_lock_base_seconds,
                                lock_max_seconds=settings.login_lock_max_seconds,
                                failure_reset_seconds=settings.login_failure_reset_seconds)),
                        revocations=announcer)

    lists = Lists(pool, ids, ListAudienceWriter(redis))

    async def local_key(kid: str) -> object | None:
        return keyring.public_key(kid)

    verifier = TokenVerifier(local_key, issuer=settings.jwt_issuer,
                             audience=settings.jwt_audience,
                             leeway_seconds=settings.jwt_leeway_seconds)
    interceptor = ServiceInterceptor(
        access=access_policy(_SERVICES), verifier=verifier,
        internal_token=settings.internal_token.get_secret_value(), revoked=revoked,
        idempotency=IdempotencyStore(redis))

    # Pinned tweets are checked with the tweets service (services/users/pins.py).
    tweets_channel = internal_channel(settings.tweets_addr,
                                      settings.internal_token.get_secret_value(), peer="tweets")

    def register(server: grpc.aio.Server) -> None:
        users_pb2_grpc.add_UserServiceServicer_to_server(
            UserServicer(accounts, Social(pool), BlocksAndMutes(pool, redis, lists),
                         Pins(pool, TweetsClient(tweets_channel))), server)
        users_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(accounts), server)
        lists_pb2_grpc.add_ListServiceServicer_to_server(ListServicer(lists), server)

    async def stop() -> None:
        await nc.drain()
        await tweets_channel.close()
        await lease.stop()
        await revoked.close()
        await redis.aclose()
        await pool.close()
        passwords.close()

    return App(service_names=[s.full_name for s in _SERVICES], register=register,
               interceptors=[interceptor], on_stop=[stop], required=[postgres.required(pool)],
               background={"outbox-relay": relay.run,
                           "key-reloader": lambda: _reload_keys(
                               keyring, settings.auth_keys_reload_seconds),
                           "login-failure-purge": lambda: FailurePurge(
                               pool, reset_seconds=settings.login_failure_reset_seconds
                           ).run(settings.login_failure_purge_seconds),
                           "revocation-announcer": announcer.run,
                           "revoked-sessions": revoked.run,
                           "session-retention": lambda: retention.run(
                               settings.session_purge_interval_seconds)})


async def _reload_keys(keyring: Keyring, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            keyring.reload()
        except (OSError, ValueError):
            log.exception("could not reload signing keys; keeping the current ones")


async def main() -> None:
    settings = UsersSettings()
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    await serve(await build(settings), settings)
