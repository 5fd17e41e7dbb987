"""Errors a handler lets escape, as the statuses clients see: a domain error
its code (with google.rpc details), a store or peer that is down or slow
UNAVAILABLE or DEADLINE_EXCEEDED (services/shared/resilience/failures.py), and
anything else INTERNAL with a generic message (the traceback goes to the log
only). Handlers never build statuses by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc

from services.shared import errors
from services.shared.observability.logging import get_logger
from services.shared.resilience import breaker, failures
from services.shared.rpc.interceptors.chain import Ctx, Step, Stream, Unary, set_outcome
from services.shared.rpc.status import status_name, to_status

log = get_logger(__name__)


class MapErrors(Step):
    def unary(self, method: str, inner: Unary) -> Unary:
        async def call(request: Any, context: Ctx) -> Any:
            _begin()
            try:
                return await inner(request, context)
            except Exception as exc:  # every escape gets a status
                await _abort(context, exc)
        return call

    def stream(self, method: str, inner: Stream) -> Stream:
        async def call(request: Any, context: Ctx) -> AsyncIterator[Any]:
            _begin()
            try:
                async for item in inner(request, context):
                    yield item
            except Exception as exc:  # every escape gets a status
                await _abort(context, exc)
        return call


def _begin() -> None:
    set_outcome("OK")
    # Counts what the call sends to stores and peers, so a breaker's refusal
    # before any of it is marked as safe to retry elsewhere (x-refused).
    breaker.begin_call()


async def _abort(context: Ctx, exc: Exception) -> NoReturn:
    if isinstance(exc, grpc.aio.AbortError):  # the handler (or a replay) aborted deliberately
        code = context.code()
        set_outcome(code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN")
        raise exc
    mapped = exc if isinstance(exc, errors.DomainError) else failures.outage(exc)
    if mapped is None:
        set_outcome("INTERNAL")
        # Log the traceback here; the client only ever sees a generic message.
        log.exception("unhandled error", error_type=type(exc).__name__)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
    set_outcome(status_name(mapped))
    if mapped is not exc:  # a store or peer is down or slow: the client may retry
        log.warning("dependency failure", status=status_name(mapped),
                    error_type=type(exc).__name__, error=str(exc)[:300])
    await context.abort_with_status(to_status(mapped))
    raise AssertionError("abort_with_status returned")  # pragma: no cover
