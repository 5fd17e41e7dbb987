"""Health follows the required stores (services/shared/resilience/health.py), and a
breaker's refusal before anything was sent is marked for the edge to retry
elsewhere (services/shared/resilience/breaker.py, interceptor.py)."""

from __future__ import annotations

import asyncio
import contextlib

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.shared import errors
from services.shared.resilience import breaker
from services.shared.resilience import health as store_health
from services.shared.resilience.breaker import CircuitBreaker, guarded
from services.shared.rpc.status import (
    HTTP_STATUS_HEADER,
    REFUSED_BEFORE_SIDE_EFFECT,
    REFUSED_HEADER,
    to_status,
)
from tests.support.wait import eventually


async def test_health_is_not_serving_while_a_required_store_is_down() -> None:
    up = {"store": True}

    async def ping() -> None:
        if not up["store"]:
            raise ConnectionError("store down")

    servicer = health.aio.HealthServicer()
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    required = [store_health.Required("the store", CircuitBreaker("test-store"), ping)]
    watcher = asyncio.create_task(store_health.watch(servicer, ["x.v1.S"], required,
                                                     interval=0.02))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stub = health_pb2_grpc.HealthStub(channel)

    async def status_is(want: int) -> bool:
        for service in ("", "x.v1.S"):
            got = await stub.Check(health_pb2.HealthCheckRequest(service=service))
            if got.status != want:
                return False
        return True

    try:
        await eventually(lambda: status_is(health_pb2.HealthCheckResponse.SERVING),
                         what="serving")
        up["store"] = False
        await eventually(lambda: status_is(health_pb2.HealthCheckResponse.NOT_SERVING),
                         what="not serving once the store is down")
        up["store"] = True
        await eventually(lambda: status_is(health_pb2.HealthCheckResponse.SERVING),
                         within=3.0, what="serving again once the store is back")
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await channel.close()
        await server.stop(None)


async def _refusal(after_a_call: bool) -> errors.Unavailable:
    open_breaker = CircuitBreaker("test-open", failures=1, reset_seconds=60)
    breaker.begin_call()
    if after_a_call:
        async with guarded(CircuitBreaker("test-closed"), "another store"):
            pass  # something was sent: a side effect may have happened
    open_breaker.failed()
    with pytest.raises(errors.Unavailable) as refused:
        async with guarded(open_breaker, "the store"):
            pass
    return refused.value


async def test_a_refusal_before_anything_was_sent_is_marked_retryable() -> None:
    first = await _refusal(after_a_call=False)
    assert first.refused
    assert (REFUSED_HEADER, REFUSED_BEFORE_SIDE_EFFECT) in to_status(first).trailing_metadata
    later = await _refusal(after_a_call=True)
    assert not later.refused
    assert all(k != REFUSED_HEADER for k, _ in to_status(later).trailing_metadata)


def test_a_reused_idempotency_key_is_422_at_the_edge() -> None:
    status = to_status(errors.UnprocessableContent("reused"))
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert (HTTP_STATUS_HEADER, "422") in status.trailing_metadata
    assert to_status(errors.Aborted("busy")).code == grpc.StatusCode.ABORTED
