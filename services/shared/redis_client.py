"""Redis clients that survive a Redis restart: a failed command on a dropped
connection is retried on a fresh one, so a restarted Redis is reconnected
without a failed request, and short socket timeouts let a dead one fail fast
(the caller's circuit breaker takes it from there)."""

from __future__ import annotations

from typing import Any

import hiredis
from redis.asyncio import Connection, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# What a cache read may take before the caller treats Redis as down.
SOCKET_TIMEOUT_SECONDS = 0.5


class HiredisPackedConnection(Connection):
    """Packs commands with hiredis (C), as redis-py's synchronous client does;
    its asyncio client packs in Python, a large share of a cache read's CPU."""

    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        if (b" " if isinstance(name, bytes) else " ") in name:  # "CONFIG GET" and the like
            return super().pack_command(*args)
        return [hiredis.pack_command(args)]


def connect(url: str, *, socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
            connection_class: type[Connection] = HiredisPackedConnection) -> Redis:
    return Redis.from_url(
        url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout,
        retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        connection_class=connection_class)


REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
