"""The one server interceptor every service installs.

Per call it: binds the request id and method to the logs, authenticates the caller
by the method's access policy (the edge's verified identity, or the JWT), answers
a repeated write from its Idempotency-Key (services/shared/rpc/idempotency.py), maps
domain errors to gRPC statuses with google.rpc details, hides unexpected errors
behind INTERNAL, and records latency.
"""

from __future__ import annotations

import contextlib
import hmac
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import grpc
import structlog
from google.api import annotations_pb2
from google.protobuf import descriptor_pool, duration_pb2, message_factory
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client import Histogram

from services.shared import errors
from services.shared.contracts import Access, access_table
from services.shared.observability import telemetry
from services.shared.observability.logging import get_logger
from services.shared.resilience import breaker, deadline, failures
from services.shared.rpc import idempotency
from services.shared.security import auth
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
    errors.Aborted: code_pb2.ABORTED,
}

# Trailing metadata the edge reads: the HTTP status when the gRPC code's own
# does not say it (edge/grpc_status.lua), and a refusal that did nothing, which
# the edge may retry on another process (edge/render.py, WRITE_RETRY).
HTTP_STATUS_HEADER = "x-http-status"
REFUSED_HEADER = "x-refused"
REFUSED_BEFORE_SIDE_EFFECT = "before-side-effect"


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


def json_name(field_path: str) -> str:
    """A field path as the JSON names it (media_ids[2] -> mediaIds[2]), the
    names REST clients send; protoc's rule: a letter after '_' is upper-cased."""
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), field_path)


def to_status(exc: errors.DomainError) -> grpc.Status:
    result: grpc.Status = rpc_status.to_status(rpc_status_of(exc))
    extra: tuple[tuple[str, str], ...] = ()
    if isinstance(exc, errors.UnprocessableContent):
        extra = ((HTTP_STATUS_HEADER, "422"),)
    if isinstance(exc, errors.Unavailable) and exc.refused:
        extra = ((REFUSED_HEADER, REFUSED_BEFORE_SIDE_EFFECT),)
    if extra:
        result = _Status(result.code, result.details, (*result.trailing_metadata, *extra))
    return result


class _Status(grpc.Status):
    def __init__(self, code: grpc.StatusCode, details: str,
                 trailing_metadata: tuple[tuple[str, str | bytes], ...]) -> None:
        self.code, self.details, self.trailing_metadata = code, details, trailing_metadata


def code_of(exc: errors.DomainError) -> int:
    return next((c for t, c in _CODES.items() if isinstance(exc, t)), code_pb2.UNKNOWN)


def rpc_status_of(exc: errors.DomainError) -> status_pb2.Status:
    status = status_pb2.Status(code=code_of(exc), message=exc.message)
    if isinstance(exc, errors.InvalidArgument) and exc.violations:
        detail = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=json_name(v.field),
                                                        description=v.description)
            for v in exc.violations
        ])
        status.details.add().Pack(detail)
    if isinstance(exc, errors.ResourceExhausted) and exc.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(exc.retry_after_seconds * 1000))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return status


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        *,
        access: Callable[[str], Access],
        verifier: auth.TokenVerifier | None,
        internal_token: str,
        revoked: RevokedSessions | None = None,
        idempotency: idempotency.IdempotencyStore | None = None,
    ) -> None:
        self._access = access
        self._idempotency = idempotency
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
            inner = handler.unary_unary
            if self._idempotency is not None and access is Access.USER and _is_write(method):
                inner = self._keyed(method, self._idempotency, inner)
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, access, inner),
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

    def _keyed(self, method: str, store: idempotency.IdempotencyStore,
               inner: Callable[[Any, Ctx], Awaitable[Any]]) -> Callable[[Any, Ctx], Awaitable[Any]]:
        """A write that takes an Idempotency-Key: the first completed answer
        per user and key is kept and replayed (services/shared/rpc/idempotency.py)."""
        response_class = _response_class(method)

        async def keyed(request: Any, context: Ctx) -> Any:
            given = _metadata(context).get(idempotency.METADATA_KEY)
            if given is None:
                return await inner(request, context)
            kept = await store.begin(auth.caller_id(), idempotency.valid_key(given),
                                     idempotency.request_hash(method, request), uuid.uuid4().hex)
            if kept is not None:
                if kept.code == 0:
                    return response_class.FromString(kept.body)
                await context.abort_with_status(rpc_status.to_status(
                    status_pb2.Status.FromString(kept.body)))
            try:
                response = await inner(request, context)
            except errors.DomainError as exc:
                await store.finish(code_of(exc), rpc_status_of(exc).SerializeToString())
                raise
            except BaseException:
                await store.finish(code_pb2.INTERNAL, b"")  # not kept: released
                raise
            await store.finish(0, response.SerializeToString())
            return response
        return keyed

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
                breaker.begin_call()
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
        from_edge = hmac.compare_digest(metadata.get(auth.EDGE_TOKEN_HEADER, "").encode(),
                                        self._edge_token)
        # Even public calls (login) learn where they come from: its throttle keys on it.
        auth.set_client_address(metadata.get(auth.CLIENT_ADDRESS_HEADER) or None
                                if from_edge else None)
        if access is Access.INTERNAL:
            given = metadata.get(INTERNAL_TOKEN_HEADER, "").encode()
            if not hmac.compare_digest(given, self._internal_token):
                raise errors.PermissionDenied("internal method")
            return
        if access is Access.PUBLIC:
            return  # a stale token must not break sign-up or login
        if from_edge:
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


def _method_descriptor(method: str) -> Any:
    return descriptor_pool.Default().FindMethodByName(method.lstrip("/").replace("/", "."))


def _is_write(method: str) -> bool:
    """Whether the edge serves the RPC as a POST, PATCH, PUT or DELETE."""
    try:
        options = _method_descriptor(method).GetOptions()
    except KeyError:
        return False
    if not options.HasExtension(annotations_pb2.http):
        return False
    return options.Extensions[annotations_pb2.http].WhichOneof("pattern") in {
        "post", "patch", "put", "delete"}


def _response_class(method: str) -> Any:
    return message_factory.GetMessageClass(_method_descriptor(method).output_type)


def _metadata(context: Ctx) -> dict[str, str]:
    return {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}


def _status_name(exc: errors.DomainError) -> str:
    return str(code_pb2.Code.Name(code_of(exc)))


async def _fail(context: Ctx, exc: Exception) -> None:
    if isinstance(exc, grpc.aio.AbortError):
        raise exc  # the handler aborted deliberately
    # Log the traceback here; the client only ever sees a generic message.
    log.exception("unhandled error", error_type=type(exc).__name__)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error")


def _finish(method: str, code: str, started: float) -> None:
    RPC_SECONDS.labels(method, code).observe(time.perf_counter() - started)
    structlog.contextvars.unbind_contextvars("method", "request_id", "user_id")
