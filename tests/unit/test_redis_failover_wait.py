"""A cluster client waits out a failover only when told to
(REDIS_FAILOVER_WAIT_SECONDS, services/shared/stores/redis_client.py), and never
longer: a dead primary's replica takes over within seconds, a dead cluster
does not."""

from __future__ import annotations

import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from services.shared.stores.redis_client import TracedRedisCluster


def cluster(wait: float) -> TracedRedisCluster:
    client = TracedRedisCluster(host="127.0.0.1", port=1)  # never connected here
    client.failover_wait = wait
    return client


class Flaky:
    """Fails `failures` times as a node being failed over does, then answers."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise RedisConnectionError("Connection refused")
        return "PONG"


async def test_a_command_is_tried_again_until_the_replica_took_over() -> None:
    attempt = Flaky(failures=3)
    assert await cluster(wait=3.0).through_failover(attempt) == "PONG"
    assert attempt.calls == 4


async def test_without_a_wait_the_first_failure_is_the_answer() -> None:
    attempt = Flaky(failures=1)
    with pytest.raises(RedisConnectionError):
        await cluster(wait=0.0).through_failover(attempt)
    assert attempt.calls == 1


async def test_the_wait_is_bounded() -> None:
    started = time.monotonic()
    with pytest.raises(RedisConnectionError):
        await cluster(wait=0.5).through_failover(Flaky(failures=1000))
    assert time.monotonic() - started < 2.0
