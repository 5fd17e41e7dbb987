"""The server interceptor chain (services/shared/rpc/interceptors/): each step
wraps only the methods it applies to, steps work as plain grpc.aio interceptors
on their own, and the status a call ends with (mapped, or aborted by the handler
itself) is the one its latency metric records. Against a real in-process server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from services.shared import errors
from services.shared.contracts import Access
from services.shared.rpc.interceptors import ServiceInterceptor
from services.shared.rpc.interceptors.access import INTERNAL_TOKEN_HEADER, InternalOnly
from services.shared.rpc.interceptors.error_mapping import MapErrors
from services.shared.rpc.interceptors.idempotent_writes import IdempotentWrites

TOKEN = "unit-test-internal-token"
ACCESS = {"/t.S/Public": Access.PUBLIC, "/t.S/Internal": Access.INTERNAL,
          "/t.S/Stream": Access.PUBLIC}

Ctx = grpc.aio.ServicerContext[bytes, bytes]


async def unary(request: bytes, context: Ctx) -> bytes:
    kind = request.decode()
    if kind == "aborted":
        await context.abort(grpc.StatusCode.NOT_FOUND, "aborted by the handler")
    if kind == "invalid":
        raise errors.InvalidArgument("bad field")
    if kind == "bug":
        raise RuntimeError("a secret detail")
    return b"ok:" + request


async def stream(request: bytes, context: Ctx) -> AsyncIterator[bytes]:
    yield b"first"
    raise errors.NotFound("gone mid-stream")


def handlers() -> grpc.GenericRpcHandler:
    return grpc.method_handlers_generic_handler("t.S", {
        "Public": grpc.unary_unary_rpc_method_handler(unary),
        "Internal": grpc.unary_unary_rpc_method_handler(unary),
        "Stream": grpc.unary_stream_rpc_method_handler(stream)})


async def serve(interceptors: list[Any]) -> tuple[grpc.aio.Server, grpc.aio.Channel]:
    server = grpc.aio.server(interceptors=interceptors)
    server.add_generic_rpc_handlers([handlers()])
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, grpc.aio.insecure_channel(f"127.0.0.1:{port}")


async def call(channel: grpc.aio.Channel, method: str, body: str,
               metadata: tuple[tuple[str, str], ...] = ()) -> tuple[grpc.StatusCode, str]:
    stub: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(method)
    try:
        got = await stub(body.encode(), timeout=5, metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, got.decode()


def count(method: str, code: str) -> float:
    value = REGISTRY.get_sample_value("grpc_server_handling_seconds_count",
                                      {"method": method, "code": code})
    return value or 0.0


def inner_handler(request: Any, context: Any) -> Any:
    raise AssertionError("never called")


def test_a_step_leaves_methods_it_does_not_apply_to_unwrapped() -> None:
    internal_only = InternalOnly(ACCESS.__getitem__, TOKEN)
    assert internal_only.unary("/t.S/Public", inner_handler) is inner_handler
    assert internal_only.unary("/t.S/Internal", inner_handler) is not inner_handler
    # A read (no HTTP write verb in the contract) never touches the replay store.
    writes = IdempotentWrites(lambda _: Access.USER, store=None)  # type: ignore[arg-type]
    assert writes.unary("/t.S/Public", inner_handler) is inner_handler


async def test_the_chain_maps_errors_and_records_the_code_each_call_ended_with() -> None:
    server, channel = await serve([ServiceInterceptor(
        access=ACCESS.__getitem__, verifier=None, internal_token=TOKEN)])
    before = {code: count("/t.S/Public", code) for code in ("OK", "NOT_FOUND",
                                                            "INVALID_ARGUMENT", "INTERNAL")}
    try:
        assert await call(channel, "/t.S/Public", "hi") == (grpc.StatusCode.OK, "ok:hi")
        assert await call(channel, "/t.S/Public", "aborted") == (
            grpc.StatusCode.NOT_FOUND, "aborted by the handler")
        assert await call(channel, "/t.S/Public", "invalid") == (
            grpc.StatusCode.INVALID_ARGUMENT, "bad field")
        # A bug is INTERNAL with a generic message: the detail stays in the log.
        assert await call(channel, "/t.S/Public", "bug") == (
            grpc.StatusCode.INTERNAL, "internal error")
        assert (await call(channel, "/t.S/Internal", "x"))[0] is grpc.StatusCode.PERMISSION_DENIED
        assert await call(channel, "/t.S/Internal", "x", ((INTERNAL_TOKEN_HEADER, TOKEN),)) == (
            grpc.StatusCode.OK, "ok:x")
        stub: grpc.aio.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(
            "/t.S/Stream")
        got: list[bytes] = []

        async def read_all() -> None:
            async for item in stub(b"", timeout=5):
                got.append(item)
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await read_all()
        assert got == [b"first"]
        assert failed.value.code() is grpc.StatusCode.NOT_FOUND
    finally:
        await channel.close()
        await server.stop(None)
    for code in ("OK", "NOT_FOUND", "INVALID_ARGUMENT", "INTERNAL"):
        assert count("/t.S/Public", code) == before[code] + 1, code
    assert count("/t.S/Stream", "NOT_FOUND") >= 1


async def test_steps_are_grpc_interceptors_on_their_own() -> None:
    """Installed one by one (a true grpc.aio chain) they behave as in a Chain."""
    server, channel = await serve([MapErrors(), InternalOnly(ACCESS.__getitem__, TOKEN)])
    try:
        assert (await call(channel, "/t.S/Internal", "x"))[0] is grpc.StatusCode.PERMISSION_DENIED
        assert await call(channel, "/t.S/Internal", "x", ((INTERNAL_TOKEN_HEADER, TOKEN),)) == (
            grpc.StatusCode.OK, "ok:x")
        assert await call(channel, "/t.S/Public", "invalid") == (
            grpc.StatusCode.INVALID_ARGUMENT, "bad field")
    finally:
        await channel.close()
        await server.stop(None)
