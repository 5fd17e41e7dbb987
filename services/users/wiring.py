"""The users service's composition root: builds its stores, peer clients and
service objects from settings, for the server and tests alike."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import grpc
from nats.aio.client import Client

from services.shared.concurrency.background import Job
from services.shared.messaging import events as jetstream
from services.shared.messaging.pg_outbox import OutboxRelay
from services.shared.observability.logging import get_logger
from services.shared.resilience.health import Required
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient
from services.shared.snowflake.ids import IdGenerator
from services.shared.snowflake.pg_worker_lease import PgLeaseStore
from services.shared.snowflake.worker_lease import WorkerLease
from services.shared.stores import postgres, redis_client
from services.shared.stores.postgres import GuardedPool, open_pool
from services.shared.stores.redis_client import RedisClient
from services.users.accounts import Accounts, LoginPolicy
from services.users.blocks import BlocksAndMutes
from services.users.client.lists import ListAudienceWriter
from services.users.lists.service import Lists
from services.users.login_throttle import FailurePurge, ThrottlePolicy
from services.users.passwords import Passwords
from services.users.pins import Pins
from services.users.retention import Retention
from services.users.revocations import RevocationAnnouncer
from services.users.settings import UsersSettings
from services.users.social import Social
from services.users.tokens import AccessTokens, Keyring

log = get_logger(__name__)


@dataclass(frozen=True)
class Service:
    """The service objects over their connections, with the jobs they need."""

    settings: UsersSettings
    accounts: Accounts
    social: Social
    blocks: BlocksAndMutes
    pins: Pins
    lists: Lists
    keyring: Keyring
    pool: GuardedPool
    redis: RedisClient
    nc: Client
    relay: OutboxRelay
    announcer: RevocationAnnouncer
    retention: Retention
    lease: WorkerLease
    passwords: Passwords
    tweets_channel: grpc.aio.Channel

    def required(self) -> list[Required]:
        return [postgres.required(self.pool)]

    def background(self) -> dict[str, Job]:
        s = self.settings
        return {"outbox-relay": self.relay.run,
                "key-reloader": lambda: _reload_keys(self.keyring, s.auth_keys_reload_seconds),
                "login-failure-purge": lambda: FailurePurge(
                    self.pool, reset_seconds=s.login_failure_reset_seconds
                ).run(s.login_failure_purge_seconds),
                "revocation-announcer": self.announcer.run,
                "session-retention": lambda: self.retention.run(
                    s.session_purge_interval_seconds)}

    async def close(self) -> None:
        await self.nc.drain()
        await self.tweets_channel.close()
        await self.lease.stop()
        await self.redis.aclose()
        await self.pool.close()
        self.passwords.close()


async def build(settings: UsersSettings) -> Service:
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
    # Pinned tweets are checked with the tweets service (services/users/pins.py).
    tweets_channel = internal_channel(settings.tweets_addr,
                                      settings.internal_token.get_secret_value(), peer="tweets")
    return Service(settings, accounts, Social(pool), BlocksAndMutes(pool, redis, lists),
                   Pins(pool, TweetsClient(tweets_channel)), lists, keyring, pool, redis, nc,
                   relay, announcer, retention, lease, passwords, tweets_channel)


async def _reload_keys(keyring: Keyring, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            keyring.reload()
        except (OSError, ValueError):
            log.exception("could not reload signing keys; keeping the current ones")
