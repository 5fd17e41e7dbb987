"""Single-purpose server interceptors and the runner that chains them.

Each concern around a call (a span, the request's log context, latency, error
mapping, deadline, access, identity, idempotent writes) is one `Step`. A step
looks at a method once, when its handler is first asked for, and returns the
method's handler wrapped, or unwrapped when the concern does not apply (an
internal-token check on a public method, a replay store on a read): per call,
a step costs one function call where it applies and nothing where it does not.

A step is a grpc.aio server interceptor on its own. Installed together they go
through `Chain`, one interceptor that composes its steps per method and keeps
the result: grpc.aio runs every interceptor's `intercept_service` on every call
(a coroutine per interceptor per call), so one chain costs one such hop however
many steps it holds (/work/runs/interceptor_bench.py measured it).
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc

Ctx = grpc.aio.ServicerContext[Any, Any]
Unary = Callable[[Any, Ctx], Awaitable[Any]]
Stream = Callable[[Any, Ctx], AsyncIterator[Any]]
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Any]]


class Step(grpc.aio.ServerInterceptor):
    """One concern around a method's handler. The defaults leave it unwrapped."""

    def unary(self, method: str, inner: Unary) -> Unary:
        return inner

    def stream(self, method: str, inner: Stream) -> Stream:
        return inner

    async def intercept_service(self, continuation: Continuation,
                                details: grpc.HandlerCallDetails) -> Any:
        """Installed alone (not in a Chain): wraps the handler on each call."""
        return wrap_handler(await continuation(details), details.method, (self,))


class Before(Step):
    """A step that only checks or records something before the handler runs.
    `prepare` says, once per method, what to run per call (None: nothing)."""

    def prepare(self, method: str) -> Callable[[Ctx], Awaitable[None]] | None:
        raise NotImplementedError

    def unary(self, method: str, inner: Unary) -> Unary:
        check = self.prepare(method)
        if check is None:
            return inner

        async def call(request: Any, context: Ctx) -> Any:
            await check(context)
            return await inner(request, context)
        return call

    def stream(self, method: str, inner: Stream) -> Stream:
        check = self.prepare(method)
        if check is None:
            return inner

        async def call(request: Any, context: Ctx) -> AsyncIterator[Any]:
            await check(context)
            async for item in inner(request, context):
                yield item
        return call


def wrap_handler(handler: Any, method: str, steps: Sequence[Step]) -> Any:
    """`handler` with `steps` around it, the first outermost. Client and bidi
    streaming handlers pass through: no RPC of ours has one."""
    if handler is None:
        return None
    if handler.unary_unary:
        unary: Unary = handler.unary_unary
        for step in reversed(steps):
            unary = step.unary(method, unary)
        return grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
    if handler.unary_stream:
        stream: Stream = handler.unary_stream
        for step in reversed(steps):
            stream = step.stream(method, stream)
        return grpc.unary_stream_rpc_method_handler(
            stream, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
    return handler


class Chain(grpc.aio.ServerInterceptor):
    """Steps run in order, the first outermost; each method's composed handler
    is built once (a method's handler never changes), not once per call."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = tuple(steps)
        self._wrapped: dict[str, Any] = {}

    async def intercept_service(self, continuation: Continuation,
                                details: grpc.HandlerCallDetails) -> Any:
        method: str = details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = wrap_handler(await continuation(details), method, self.steps)
            if wrapped is not None:  # unknown methods are not remembered
                self._wrapped[method] = wrapped
        return wrapped


# The call's metadata as a dict, built once per call for every step that reads it
# (each call runs in its own task, so its own context).
_METADATA: contextvars.ContextVar[tuple[Ctx, dict[str, str]] | None] = contextvars.ContextVar(
    "call_metadata", default=None)


def metadata(context: Ctx) -> dict[str, str]:
    held = _METADATA.get()
    if held is not None and held[0] is context:
        return held[1]
    found = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
    _METADATA.set((context, found))
    return found


# The call's status code name, set by the error-mapping step and read by the
# steps outside it (span, latency) once the call is over.
_OUTCOME: contextvars.ContextVar[str] = contextvars.ContextVar("call_outcome", default="OK")


def set_outcome(code: str) -> None:
    _OUTCOME.set(code)


def outcome() -> str:
    return _OUTCOME.get()
