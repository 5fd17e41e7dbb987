"""The one policy for failures of stores and peers.

A dependency that is down, refusing work or too slow is never a 500: its
connection errors become `Unavailable` (UNAVAILABLE, 503 with Retry-After at the
edge) and its timeouts `DeadlineExceeded` (DEADLINE_EXCEEDED, 504). A peer's
status is kept where it means the same thing to our caller; a peer's INTERNAL
stays a bug (500). The server interceptor applies `outage` to whatever a handler
lets escape, and the peer client interceptor applies `from_peer` to every call,
so handlers never translate driver exceptions themselves.
"""

from __future__ import annotations

import botocore.exceptions as boto
import cassandra
import cassandra.cluster
import cassandra.connection
import cassandra.protocol
import grpc
import nats.errors
import nats.js.errors
import psycopg
import psycopg.errors
import psycopg_pool
import redis.exceptions
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.shared import errors

# Checked in order: the first matching family decides (a connect timeout is a
# dependency that cannot be reached, not a slow answer).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    # Cassandra/ScyllaDB: no node reachable, not enough replicas, overloaded.
    cassandra.cluster.NoHostAvailable, cassandra.connection.ConnectionException,
    cassandra.Unavailable, cassandra.CoordinationFailure,
    cassandra.protocol.OverloadedErrorMessage, cassandra.protocol.IsBootstrappingErrorMessage,
    # PostgreSQL: no pooled connection in time, connection lost or refused.
    psycopg_pool.PoolTimeout, psycopg.InterfaceError,
    # Redis (its BusyLoadingError is a ConnectionError too); on a cluster, a
    # node down or its slots uncovered, or a slot's keys mid-migration.
    redis.exceptions.ConnectionError, redis.exceptions.ClusterDownError,
    redis.exceptions.SlotNotCoveredError, redis.exceptions.TryAgainError,
    # NATS / JetStream.
    nats.errors.NoServersError, nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError, nats.errors.StaleConnectionError,
    nats.errors.OutboundBufferLimitError, nats.errors.NoRespondersError,
    nats.js.errors.ServiceUnavailableError, nats.js.errors.NoStreamResponseError,
    # S3 through botocore.
    boto.ConnectTimeoutError, boto.EndpointConnectionError, boto.ConnectionClosedError,
    # Sockets in general.
    ConnectionError,
)
_TIMEOUT: tuple[type[BaseException], ...] = (
    cassandra.OperationTimedOut, cassandra.Timeout,  # Read/WriteTimeout
    psycopg.errors.QueryCanceled,  # statement_timeout
    redis.exceptions.TimeoutError,
    boto.ReadTimeoutError,
    TimeoutError,  # asyncio's and nats' timeouts are this one
)
# A PostgreSQL OperationalError that is not a timeout: server shutting down,
# connection broken mid-query, too many connections; all retryable later.
_UNAVAILABLE_LAST: tuple[type[BaseException], ...] = (psycopg.OperationalError,)

_S3_UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "503", "RequestTimeout"}


def outage(exc: BaseException) -> errors.DomainError | None:
    """The domain error a dependency failure becomes, or None when `exc` is not
    a dependency failure (a bug, which stays INTERNAL)."""
    if isinstance(exc, errors.DomainError):
        return exc
    if isinstance(exc, _UNAVAILABLE):
        return errors.Unavailable(f"{_dependency(exc)} is unavailable; try again shortly")
    if isinstance(exc, _TIMEOUT):
        return errors.DeadlineExceeded(f"{_dependency(exc)} did not answer in time")
    if isinstance(exc, _UNAVAILABLE_LAST):
        return errors.Unavailable(f"{_dependency(exc)} is unavailable; try again shortly")
    if isinstance(exc, boto.ClientError | grpc.aio.AioRpcError):
        return _answered(exc)
    return None


def _answered(exc: boto.ClientError | grpc.aio.AioRpcError) -> errors.DomainError | None:
    """An answer that says the dependency cannot serve: S3's "slow down", or
    a peer's status our caller should see."""
    if isinstance(exc, boto.ClientError):
        if exc.response.get("Error", {}).get("Code") in _S3_UNAVAILABLE_CODES:
            return errors.Unavailable("media storage is unavailable; try again shortly")
        return None
    mapped = from_peer(exc)
    return mapped if isinstance(mapped, errors.DomainError) else None


def is_outage_error(exc: BaseException) -> bool:
    """Whether `exc` says a dependency is down or slow (worth waiting out), as
    opposed to a bug or a bad request (retrying the same work fails again)."""
    return isinstance(outage(exc), (errors.Unavailable, errors.DeadlineExceeded))


def _dependency(exc: BaseException) -> str:
    module = type(exc).__module__.split(".")[0]
    return {"cassandra": "the database", "psycopg": "the database",
            "psycopg_pool": "the database", "redis": "the cache", "nats": "the event bus",
            "botocore": "media storage"}.get(module, "a dependency")


# A peer's code our caller should see as is. INVALID_ARGUMENT and the like are
# kept because the peer validated input our caller gave us.
_KEPT: dict[grpc.StatusCode, type[errors.DomainError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: errors.Unauthenticated,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: errors.DeadlineExceeded,
}


def from_peer(exc: grpc.aio.AioRpcError) -> errors.DomainError | UnexpectedPeerError:
    """A peer's failure as our own: same meaning, same code. INTERNAL, UNKNOWN,
    UNIMPLEMENTED and the like are a bug on one side: they become an
    `UnexpectedPeerError`, which the server interceptor reports as INTERNAL."""
    kind = _KEPT.get(exc.code())
    if kind is None:
        return UnexpectedPeerError(exc)
    message = exc.details() or exc.code().name.lower()
    if kind is errors.Unavailable and not message.endswith("try again shortly"):
        message = f"{message}; try again shortly"
    if kind is errors.InvalidArgument:
        return errors.InvalidArgument(message, _violations(exc))
    return kind(message)


def _violations(exc: grpc.aio.AioRpcError) -> list[errors.FieldViolation]:
    status = rpc_status.from_call(exc)
    found: list[errors.FieldViolation] = []
    for detail in status.details if status else ():
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found += [errors.FieldViolation(v.field, v.description) for v in bad.field_violations]
    return found


class UnexpectedPeerError(Exception):
    """A peer failed in a way that is nobody's outage (INTERNAL, UNKNOWN, ...)."""

    def __init__(self, exc: grpc.aio.AioRpcError) -> None:
        super().__init__(f"peer answered {exc.code().name}: {exc.details()}")
        self.code = exc.code()
