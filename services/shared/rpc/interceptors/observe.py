"""What every call leaves behind: its span, its log context, its latency.
Three steps, outermost first, so log lines carry the span's trace id and the
latency covers everything the other steps do."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import structlog
from prometheus_client import Histogram

from services.shared.observability import telemetry
from services.shared.rpc.interceptors.chain import Ctx, Step, Stream, Unary, metadata, outcome

RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle a gRPC call, by method and status code.",
    ["method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class Tracing(Step):
    """A server span per call, continuing the caller's trace, marked with the
    call's status code."""

    def unary(self, method: str, inner: Unary) -> Unary:
        async def call(request: Any, context: Ctx) -> Any:
            with telemetry.server_span(method, metadata(context)) as span:
                try:
                    return await inner(request, context)
                finally:
                    telemetry.mark_error(span, outcome())
        return call

    def stream(self, method: str, inner: Stream) -> Stream:
        async def call(request: Any, context: Ctx) -> AsyncIterator[Any]:
            with telemetry.server_span(method, metadata(context)) as span:
                try:
                    async for item in inner(request, context):
                        yield item
                finally:
                    telemetry.mark_error(span, outcome())
        return call


_BOUND = ("method", "request_id", "user_id")


class RequestLogging(Step):
    """Binds the method and the request id (the edge's, else a new one) to every
    log line of the call; the identity step adds the caller."""

    def unary(self, method: str, inner: Unary) -> Unary:
        async def call(request: Any, context: Ctx) -> Any:
            _bind(method, context)
            try:
                return await inner(request, context)
            finally:
                structlog.contextvars.unbind_contextvars(*_BOUND)
        return call

    def stream(self, method: str, inner: Stream) -> Stream:
        async def call(request: Any, context: Ctx) -> AsyncIterator[Any]:
            _bind(method, context)
            try:
                async for item in inner(request, context):
                    yield item
            finally:
                structlog.contextvars.unbind_contextvars(*_BOUND)
        return call


def _bind(method: str, context: Ctx) -> None:
    structlog.contextvars.bind_contextvars(
        method=method, request_id=metadata(context).get("x-request-id") or uuid.uuid4().hex)


class LatencyMetrics(Step):
    """grpc_server_handling_seconds by method and status code."""

    def unary(self, method: str, inner: Unary) -> Unary:
        async def call(request: Any, context: Ctx) -> Any:
            started = time.perf_counter()
            try:
                return await inner(request, context)
            finally:
                RPC_SECONDS.labels(method, outcome()).observe(time.perf_counter() - started)
        return call

    def stream(self, method: str, inner: Stream) -> Stream:
        async def call(request: Any, context: Ctx) -> AsyncIterator[Any]:
            started = time.perf_counter()
            try:
                async for item in inner(request, context):
                    yield item
            finally:
                RPC_SECONDS.labels(method, outcome()).observe(time.perf_counter() - started)
        return call
