"""The one server interceptor every service installs.

Per call it: binds the request id and method to the logs, authenticates the caller
by the method's access policy (the edge's verified identity, or the JWT), maps
domain errors to gRPC statuses with google.rpc details, hides unexpected errors
behind INTERNAL, and records latency.
"""

from __future__ import annotations

import contextlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
import structlog
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client import Histogram

from services.shared import auth, deadline, errors, failures, telemetry
from services.shared.contracts import Access, access_table
from services.shared.logging import get_logger
from services.users.client.revocations import RevokedSessions

log = get_logger(__name__)

RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle a gRPC call, by method and status code.",
    ["method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

INTERNAL_TOKEN_HEADER = "x-internal-token"  # noqa: S105 - a header name


Ctx = grpc.aio.ServicerContext[Any, Any]


_CODES: dict[type[errors.DomainError], int] = {
    errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
    errors.NotFound: code_pb2.NOT_FOUND,
    errors.AlreadyExists: code_pb2.ALREADY_EXISTS,
    errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    errors.ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    errors.Unavailable: code_pb2.UNAVAILABLE,
    errors.DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
}


def access_policy(services: list[Any], *, foreign: bool = False) -> Callable[[str], Access]:
    """Each method's access, from its `twitter.api.v1.access` option (a
    ContractError at startup when one lacks it). `foreign`: services whose
    contract is not ours (Envoy's rate limit API) are internal throughout.
    Health and reflection are public; an unknown method is internal."""
    table = ({f"/{s.full_name}/{m.name}": Access.INTERNAL for s in services for m in s.methods}
             if foreign else access_table(services))

    def lookup(method: str) -> Access:
        if method.startswith(("/grpc.health.v1.", "/grpc.reflection.")):
            return Access.PUBLIC
        return table.get(method, Access.INTERNAL)

    return lookup


def to_status(exc: errors.DomainError) -> grpc.Status:
    code = next((c for t, c in _CODES.items() if isinstance(exc, t)), code_pb2.UNKNOWN)
    status = status_pb2.Status(code=code, message=exc.message)
    if isinstance(exc, errors.InvalidArgument) and exc.violations:
        detail = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in exc.violations
        ])
        status.details.add().Pack(detail)
    if isinstance(exc, errors.ResourceExhausted) and exc.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(exc.retry_after_seconds * 1000))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    result: grpc.Status = rpc_status.to_status(status)
    return result


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        *,
        access: Callable[[str], Access],
        verifier: auth.TokenVerifier | None,
        internal_token: str,
        revoked: RevokedSessions | None = None,
    ) -> None:
        self._access = access
        self._verifier = verifier
        self._revoked = revoked
        self._internal_token = internal_token.encode()
        self._edge_token = auth.edge_token(internal_token).encode()
        self._wrapped: dict[str, Any] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        details: grpc.HandlerCallDetails,
    ) -> Any:
        method: str = details.method
        wrapped = self._wrapped.get(method)
        if wrapped is None:
            wrapped = await self._wrap(continuation, details)
            if wrapped is not None:  # unknown methods are not remembered
                self._wrapped[method] = wrapped
        return wrapped

    async def _wrap(self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
                    details: grpc.HandlerCallDetails) -> Any:
        """The method's handler with our wrapper around it; built once per method
        (a method's handler never changes), not once per call."""
        handler: Any = await continuation(details)
        if handler is None:
            return None
        method: str = details.method
        access = self._access(method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, access, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, access, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client/bidi streaming: none of ours yet

    def _wrap_unary(self, method: str, access: Access,
                    inner: Callable[[Any, Ctx], Awaitable[Any]]
                    ) -> Callable[[Any, Ctx], Awaitable[Any]]:
        async def unary(request: Any, context: Ctx) -> Any:
            async with self._call(method, access, context):
                return await inner(request, context)
        return unary

    def _wrap_stream(self, method: str, access: Access,
                     inner: Callable[[Any, Ctx], AsyncIterator[Any]]
                     ) -> Callable[[Any, Ctx], AsyncIterator[Any]]:
        async def stream(request: Any, context: Ctx) -> AsyncIterator[Any]:
            async with self._call(method, access, context):
                async for item in inner(request, context):
                    yield item
        return stream

    @contextlib.asynccontextmanager
    async def _call(self, method: str, access: Access, context: Ctx) -> AsyncIterator[None]:
        """Around every call: span, auth, error mapping, latency."""
        started, code = time.perf_counter(), "OK"
        metadata = _metadata(context)
        with telemetry.server_span(method, metadata) as span:
            try:
                deadline.begin(context.time_remaining(), metadata)
                await self._begin(method, access, metadata)
                yield
            except errors.DomainError as exc:
                code = _status_name(exc)
                await context.abort_with_status(to_status(exc))
            except Exception as exc:
                outage = failures.outage(exc)
                if outage is None:
                    code = "INTERNAL"
                    await _fail(context, exc)
                else:  # a store or peer is down or slow: the client may retry
                    code = _status_name(outage)
                    log.warning("dependency failure", status=code,
                                error_type=type(exc).__name__, error=str(exc)[:300])
                    await context.abort_with_status(to_status(outage))
            finally:
                telemetry.mark_error(span, code)
                _finish(method, code, started)

    async def _begin(self, method: str, access: Access, metadata: Mapping[str, str]) -> None:
        structlog.contextvars.bind_contextvars(
            method=method, request_id=metadata.get("x-request-id") or uuid.uuid4().hex,
        )
        auth.set_caller(None)
        auth.set_session(None)
        if access is Access.INTERNAL:
            given = metadata.get(INTERNAL_TOKEN_HEADER, "").encode()
            if not hmac.compare_digest(given, self._internal_token):
                raise errors.PermissionDenied("internal method")
            return
        if access is Access.PUBLIC:
            return  # a stale token must not break sign-up or login
        if hmac.compare_digest(metadata.get(auth.EDGE_TOKEN_HEADER, "").encode(),
                               self._edge_token):
            # The edge verified the JWT already; verifying it again per service
            # cost as much as the read itself.
            user_id = auth.edge_user_id(metadata.get(auth.USER_ID_HEADER, ""))
            session_id = auth.edge_session_id(metadata.get(auth.SESSION_ID_HEADER, ""))
        else:
            user_id, session_id = await self._verify(metadata)
        # An in-memory lookup (services/users/client/revocations.py): no round trip.
        if session_id is not None and self._revoked is not None \
                and self._revoked.is_revoked(session_id):
            raise errors.Unauthenticated("the session has ended: log in again")
        auth.set_caller(user_id)
        auth.set_session(session_id)
        structlog.contextvars.bind_contextvars(user_id=user_id)

    async def _verify(self, metadata: Mapping[str, str]) -> tuple[int, int | None]:
        token = auth.bearer_token(metadata)
        if token is None:
            raise errors.Unauthenticated("missing bearer token")
        if self._verifier is None:  # pragma: no cover - wiring error
            raise errors.Unavailable("token verification is not configured")
        return await self._verifier.verify_session(token)


def _metadata(context: Ctx) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


def _status_name(exc: errors.DomainError) -> str:
    code = next((c for t, c in _CODES.items() if isinstance(exc, t)), code_pb2.UNKNOWN)
    return str(code_pb2.Code.Name(code))


async def _fail(context: Ctx, exc: Exception) -> None:
    if isinstance(exc, grpc.aio.AbortError):
        raise exc  # the handler aborted deliberately
    # Log the traceback here; the client only ever sees a generic message.
    log.exception("unhandled error", error_type=type(exc).__name__)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


def _finish(method: str, code: str, started: float) -> None:
    RPC_SECONDS.labels(method, code).observe(time.perf_counter() - started)
    structlog.contextvars.unbind_contextvars("method", "request_id", "user_id")
