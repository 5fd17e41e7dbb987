"""Domain errors as gRPC statuses: the one mapping (code, google.rpc details, the
trailing metadata the edge reads), used by the error-mapping interceptor and by
replayed idempotent answers."""

from __future__ import annotations

import re

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.shared import errors

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


def status_name(exc: errors.DomainError) -> str:
    """The status code's name (NOT_FOUND), as metrics and spans label it."""
    return str(code_pb2.Code.Name(code_of(exc)))


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
