"""The ratelimit service alone: a real grpc.aio server on a free port, real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from envoy.extensions.common.ratelimit.v3 import ratelimit_pb2  # type: ignore[import-untyped]
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc  # type: ignore[import-untyped]

from services.ratelimit.server import build
from services.ratelimit.settings import RatelimitSettings
from services.ratelimit.window import Bucket, SlidingWindow
from services.shared import errors
from services.shared.resilience.breaker import State
from services.shared.resilience.health import reachable
from services.shared.rpc.server import create_server
from services.shared.stores import redis_client

RLS = rls_pb2.RateLimitResponse
TOKEN = (("x-internal-token", os.environ["INTERNAL_TOKEN"]),)  # tests/conftest.py
RULES = """
domain: edge
descriptors:
  - key: remote_address
    rate_limit: {unit: minute, requests_per_unit: 5}
  - key: op
    value: CreateTweet
    descriptors:
      - key: user_id
        rate_limit: {unit: minute, requests_per_unit: 3}
  - key: op
    value: Burst
    descriptors:
      - key: user_id
        rate_limit: {unit: second, requests_per_unit: 2}
environments:
  test:
    exempt: [{key: remote_address, value: 192.0.2.1}]
"""


async def _serve(settings: RatelimitSettings) -> tuple[grpc.aio.Server, int]:
    server, port, _ = create_server(build(settings), settings)
    await server.start()
    return server, port


@pytest.fixture
async def rls(tmp_path: Path, stack_env: dict[str, str]) -> AsyncIterator[Any]:
    config = tmp_path / "ratelimits.yaml"
    config.write_text(RULES)
    # These tests are about counting. The service's fail-fast Redis timeout
    # (0.1 s) has its own test below; here a loaded CI machine that stalls the
    # event loop for longer must not turn a count into an UNAVAILABLE.
    settings = RatelimitSettings(ratelimit_config=config, ratelimit_environment="test",
                                 redis_url=stack_env["REDIS_URL"], grpc_port=0,
                                 redis_timeout_seconds=2.0)
    server, port = await _serve(settings)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield rls_pb2_grpc.RateLimitServiceStub(channel)
    await server.stop(0)


def request(*descriptors: list[tuple[str, str]]) -> Any:
    return rls_pb2.RateLimitRequest(domain="edge", descriptors=[
        ratelimit_pb2.RateLimitDescriptor(entries=[
            ratelimit_pb2.RateLimitDescriptor.Entry(key=k, value=v) for k, v in d])
        for d in descriptors])


def fresh(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:12]


Call = Callable[..., Any]


async def test_counts_down_then_refuses_with_a_reason(rls: Any) -> None:
    user = [("op", "CreateTweet"), ("user_id", fresh())]
    remaining = []
    for _ in range(3):
        r = await rls.ShouldRateLimit(request(user), metadata=TOKEN)
        assert r.overall_code == RLS.OK
        status = r.statuses[0]
        assert status.current_limit.requests_per_unit == 3
        assert status.current_limit.unit == RLS.RateLimit.MINUTE
        assert 0 < status.duration_until_reset.seconds <= 60
        remaining.append(status.limit_remaining)
    assert remaining == [2, 1, 0]
    over = await rls.ShouldRateLimit(request(user), metadata=TOKEN)
    assert over.overall_code == RLS.OVER_LIMIT
    assert over.statuses[0].code == RLS.OVER_LIMIT
    assert b"3 per minute (op=CreateTweet/user_id)" in over.raw_body
    retry = {h.key: h.value for h in over.response_headers_to_add}["retry-after"]
    assert 0 < int(retry) <= 120


async def test_unconfigured_descriptors_are_ok_without_a_limit(rls: Any) -> None:
    r = await rls.ShouldRateLimit(request([("op", "Nothing"), ("user_id", "1")]),
                                  metadata=TOKEN)
    assert r.overall_code == RLS.OK
    assert not r.statuses[0].HasField("current_limit")
    other = await rls.ShouldRateLimit(rls_pb2.RateLimitRequest(
        domain="elsewhere", descriptors=request([("remote_address", "1")]).descriptors),
        metadata=TOKEN)
    assert other.overall_code == RLS.OK


async def test_a_refused_request_uses_up_no_other_budget(rls: Any) -> None:
    ip, user = [("remote_address", fresh("ip"))], [("op", "CreateTweet"),
                                                   ("user_id", fresh())]
    for _ in range(3):
        assert (await rls.ShouldRateLimit(request(ip, user), metadata=TOKEN)
                ).overall_code == RLS.OK
    for _ in range(5):  # over on the user limit: the IP's budget is left alone
        r = await rls.ShouldRateLimit(request(ip, user), metadata=TOKEN)
        assert r.overall_code == RLS.OVER_LIMIT
        assert [s.code for s in r.statuses] == [RLS.OK, RLS.OVER_LIMIT]
    r = await rls.ShouldRateLimit(request(ip), metadata=TOKEN)
    assert r.overall_code == RLS.OK
    assert r.statuses[0].limit_remaining == 1


async def test_concurrent_hits_never_exceed_the_limit(rls: Any) -> None:
    ip = [("remote_address", fresh("ip"))]
    # 40 first calls at once on a fresh client: every one is counted, and
    # exactly the limit gets through (the burst itself: test_redis_cluster_client).
    results = await asyncio.gather(*(rls.ShouldRateLimit(request(ip), metadata=TOKEN)
                                     for _ in range(40)))
    assert sum(r.overall_code == RLS.OK for r in results) == 5


async def test_the_window_slides(rls: Any) -> None:
    burst = [("op", "Burst"), ("user_id", fresh())]
    # The sleeps below move through the sliding window: time is what is tested.
    # Start just after a second boundary so both hits share one window.
    await asyncio.sleep(1 - time.time() % 1 + 0.05)
    for _ in range(2):
        assert (await rls.ShouldRateLimit(request(burst), metadata=TOKEN)
                ).overall_code == RLS.OK
    refused = await rls.ShouldRateLimit(request(burst), metadata=TOKEN)
    assert refused.overall_code == RLS.OVER_LIMIT
    # Right after the boundary the previous second still weighs almost fully:
    # a fixed window would allow a new burst here.
    await asyncio.sleep(1 - time.time() % 1 + 0.1)
    assert (await rls.ShouldRateLimit(request(burst), metadata=TOKEN)
            ).overall_code == RLS.OVER_LIMIT
    await asyncio.sleep(1.0)  # two windows later everything has decayed
    assert (await rls.ShouldRateLimit(request(burst), metadata=TOKEN)
            ).overall_code == RLS.OK


async def test_exempt_entries_exempt_the_whole_request(rls: Any) -> None:
    ip = [("remote_address", "192.0.2.1")]
    user = [("op", "CreateTweet"), ("user_id", fresh())]
    for _ in range(10):
        r = await rls.ShouldRateLimit(request(ip, user), metadata=TOKEN)
        assert r.overall_code == RLS.OK


async def test_only_the_edge_may_call_it(rls: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await rls.ShouldRateLimit(request([("remote_address", "1")]))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_redis_down_is_unavailable_quickly(tmp_path: Path) -> None:
    config = tmp_path / "ratelimits.yaml"
    config.write_text(RULES)
    settings = RatelimitSettings(ratelimit_config=config, ratelimit_environment="test",
                                 redis_url="redis://127.0.0.1:1/0", grpc_port=0)
    server, port = await _serve(settings)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = rls_pb2_grpc.RateLimitServiceStub(channel)
            started = time.perf_counter()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.ShouldRateLimit(request([("remote_address", "10.1.1.1")]),
                                           metadata=TOKEN, timeout=5)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert time.perf_counter() - started < 1.0
    finally:
        await server.stop(0)


async def test_the_process_requires_its_redis(stack_env: dict[str, str]) -> None:
    """What the health watcher (services/shared/resilience/health.py) pings: the real
    Redis answers; a dead one is reported, and after three failed checks the
    breaker is open, so the process is NOT_SERVING and the edge's health
    check sends the edge's checks to another process."""
    for url, up in ((stack_env["REDIS_URL"], True), ("redis://127.0.0.1:1/0", False)):
        redis = redis_client.connect(url)
        window = SlidingWindow(redis)
        try:
            assert await reachable(window.required()) is up
            if not up:
                for _ in range(2):  # with the failed ping: three failures
                    with contextlib.suppress(errors.Unavailable, *redis_client.REDIS_ERRORS):
                        await window.hit([Bucket("rl:{x}:y", 60, 5)])
                assert window.breaker.state is State.OPEN
        finally:
            await redis.aclose()
