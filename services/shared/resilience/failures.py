"""The one policy for failures of stores and peers.

A dependency that is down, refusing work or too slow is never a 500: its
connection errors become `Unavailable` (UNAVAILABLE, 503 with Retry-After at the
edge) and its timeouts `DeadlineExceeded` (DEADLINE_EXCEEDED, 504). A peer's
status is kept where it means the same thing to our caller; a peer's INTERNAL
stays a bug (500). The server interceptor applies `outage` to whatever a handler
lets escape, and the peer client interceptor applies `from_peer` to every call,
so handlers never translate driver exceptions themselves.

Which driver exceptions mean "down" or "too slow" is each store adapter's to
say: it registers them here (`register`) when it is imported, so this module
imports no driver and a process loads only the drivers of the stores it uses.
An exception of a driver whose adapter was not imported (a test or a tool
using the driver directly) loads that adapter's registration on first sight:
the driver is loaded already, since its exception exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.shared import errors

# Where each driver's outage errors are registered, by the driver's top-level
# module: imported on the first exception of a driver nobody registered yet.
REGISTERED_BY: dict[str, str] = {
    "cassandra": "services.shared.stores.cassandra",
    "psycopg": "services.shared.stores.postgres",
    "psycopg_pool": "services.shared.stores.postgres",
    "redis": "services.shared.stores.redis_failures",
    "nats": "services.shared.messaging.events",
    "botocore": "services.shared.stores.s3_failures",
}

Answer = Callable[[BaseException], "errors.DomainError | None"]

# Checked in order: the first matching family decides (a connect timeout is a
# dependency that cannot be reached, not a slow answer). Sockets in general are
# everyone's: asyncio's and nats' timeouts are the builtin TimeoutError.
_unavailable: tuple[type[BaseException], ...] = (ConnectionError,)
_timeout: tuple[type[BaseException], ...] = (TimeoutError,)
# Broad families checked last (PostgreSQL's OperationalError that is not a
# timeout: server shutting down, connection broken, too many connections).
_unavailable_last: tuple[type[BaseException], ...] = ()
# Answers that may say the dependency cannot serve: a peer's status our caller
# should see (below), S3's "slow down".
_answers: dict[type[BaseException], Answer] = {}
_dependency_names: dict[str, str] = {}
_known_types: set[type[BaseException]] = set()


def register(dependency: str, *, modules: Iterable[str],
             unavailable: Iterable[type[BaseException]] = (),
             timeout: Iterable[type[BaseException]] = (),
             unavailable_last: Iterable[type[BaseException]] = (),
             answers: dict[type[BaseException], Answer] | None = None) -> None:
    """A store adapter's outage errors. `dependency` names the store in messages
    ("the database"), `modules` are its drivers' top-level modules. Registering
    the same types again changes nothing."""
    global _unavailable, _timeout, _unavailable_last  # noqa: PLW0603 - the registry
    _unavailable = tuple(dict.fromkeys((*_unavailable, *unavailable)))
    _timeout = tuple(dict.fromkeys((*_timeout, *timeout)))
    _unavailable_last = tuple(dict.fromkeys((*_unavailable_last, *unavailable_last)))
    _answers.update(answers or {})
    for module in modules:
        _dependency_names[module] = dependency
    _known_types.clear()


def _load_registrations(kind: type[BaseException]) -> None:
    """Imports the registration of every driver in `kind`'s ancestry that has
    none yet; remembered per type, so an error path pays for it once."""
    if kind in _known_types:
        return
    for ancestor in kind.__mro__:
        driver = ancestor.__module__.split(".")[0]
        if driver in REGISTERED_BY and driver not in _dependency_names:
            importlib.import_module(REGISTERED_BY[driver])
    _known_types.add(kind)


def outage(exc: BaseException) -> errors.DomainError | None:
    """The domain error a dependency failure becomes, or None when `exc` is not
    a dependency failure (a bug, which stays INTERNAL)."""
    if isinstance(exc, errors.DomainError):
        return exc
    _load_registrations(type(exc))
    if isinstance(exc, _unavailable):
        return errors.Unavailable(f"{_dependency(exc)} is unavailable; try again shortly")
    if isinstance(exc, _timeout):
        return errors.DeadlineExceeded(f"{_dependency(exc)} did not answer in time")
    if isinstance(exc, _unavailable_last):
        return errors.Unavailable(f"{_dependency(exc)} is unavailable; try again shortly")
    for kind, answer in _answers.items():
        if isinstance(exc, kind):
            return answer(exc)
    return None


def is_outage_error(exc: BaseException) -> bool:
    """Whether `exc` says a dependency is down or slow (worth waiting out), as
    opposed to a bug or a bad request (retrying the same work fails again)."""
    return isinstance(outage(exc), (errors.Unavailable, errors.DeadlineExceeded))


def _dependency(exc: BaseException) -> str:
    return _dependency_names.get(type(exc).__module__.split(".")[0], "a dependency")


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


def _peer_answer(exc: BaseException) -> errors.DomainError | None:
    assert isinstance(exc, grpc.aio.AioRpcError)
    mapped = from_peer(exc)
    return mapped if isinstance(mapped, errors.DomainError) else None


_answers[grpc.aio.AioRpcError] = _peer_answer
