"""Redis clients that survive a Redis restart: a failed command on a dropped
connection is retried on a fresh one, so a restarted Redis is reconnected
without a failed request, and short socket timeouts let a dead one fail fast
(the caller's circuit breaker takes it from there)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What a cache read may take before the caller treats Redis as down.
SOCKET_TIMEOUT_SECONDS = 0.5


def connect(url: str, *, socket_timeout: float = SOCKET_TIMEOUT_SECONDS) -> Redis:
    return Redis.from_url(
        url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30)


REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
