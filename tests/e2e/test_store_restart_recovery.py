"""After a store comes back, no process answers 503 more than 5 s later
(issue 32): each process's health follows its required store
(services/shared/resilience/health.py), its breaker is closed by the health watcher's
ping, and the CQL driver reconnects at most 1 s apart. Measured per process,
on each process's own port, after stopping and starting Cassandra and Redis;
the test also waits until every process is healthy before it returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import grpc
import httpx
import pytest
from twitter.timeline.v1 import timeline_pb2, timeline_pb2_grpc
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from services.shared.rpc.clients import internal_channel
from stack import topology
from tests.support.stack_control import (
    control,
    redis_programs,
    wait_infra_ready,
    wait_serving,
)
from tests.support.users import new_user

pytestmark = pytest.mark.e2e
BOUND_SECONDS = 5.0


def process_ports(service: str) -> list[int]:
    settings = topology.load()
    port = settings.service_port(service)
    return topology.process_ports(port, settings.processes[service]) or [port]


async def seconds_until_ok(call: object, within: float = 60.0) -> float:
    """Seconds from now until the call first succeeds (503s meanwhile)."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        try:
            await call()  # type: ignore[operator]
            return time.monotonic() - started
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
        await asyncio.sleep(0.1)
    return within


async def seconds_per_process(channels: dict[int, grpc.aio.Channel],
                              call: Callable[[grpc.aio.Channel, int], Awaitable[object]],
                              what: str) -> dict[int, float]:
    """Seconds of 503 on each process's own port, measured at once, printed."""
    taken = dict(zip(channels, await asyncio.gather(
        *(seconds_until_ok(lambda p=p: call(channels[p], p)) for p in channels)), strict=True))
    print(f"seconds of 503 per process after {what} was ready: {taken}")
    return taken


async def test_every_tweets_process_writes_within_5_s_of_cassandra_returning(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    user = await new_user(edge)
    metadata = (("authorization", user["headers"]["Authorization"]),)
    channels = {p: internal_channel(f"127.0.0.1:{p}", "unused") for p in process_ports("tweets")}
    try:
        await control("stop", "cassandra")
        try:
            failing = await edge.post("/v1/tweets", json={"content": "x"},
                                      headers=user["headers"])
            assert failing.status_code == 503, failing.text
        finally:
            await control("start", "cassandra")
            await wait_infra_ready("cassandra", stack_env, 180)

        taken = await seconds_per_process(channels, lambda ch, port: tweets_pb2_grpc
                                          .TweetServiceStub(ch).CreateTweet(
            tweets_pb2.CreateTweetRequest(content=f"back on {port}"), metadata=metadata,
            timeout=5), "Cassandra")
        assert all(t <= BOUND_SECONDS for t in taken.values()), taken
    finally:
        for c in channels.values():
            await c.close()
        await wait_serving("tweets")


async def test_every_timeline_process_reads_within_5_s_of_redis_returning(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    user = await new_user(edge)
    metadata = (("authorization", user["headers"]["Authorization"]),)
    channels = {p: internal_channel(f"127.0.0.1:{p}", "unused")
                for p in process_ports("timeline")}
    try:
        await control("stop", *redis_programs())
        await control("start", *redis_programs())
        await wait_infra_ready("redis", stack_env, 30)

        request = timeline_pb2.GetHomeTimelineRequest(user_id=int(user["userId"]))
        taken = await seconds_per_process(channels, lambda ch, _: timeline_pb2_grpc
                                          .TimelineServiceStub(ch).GetHomeTimeline(
            request, metadata=metadata, timeout=5), "Redis")
        assert all(t <= BOUND_SECONDS for t in taken.values()), taken
    finally:
        for c in channels.values():
            await c.close()
        await wait_serving("timeline")
