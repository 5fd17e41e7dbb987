"""Domain errors: plain exceptions that domain code raises.

They carry no gRPC types; `services.shared.rpc.interceptors` maps each to a status code
(and google.rpc details) in one place, so handlers never build statuses by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field, reported as a google.rpc.BadRequest field violation."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a client may see; its message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(DomainError):
    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        return cls(f"{field}: {description}", [FieldViolation(field, description)])


class Unauthenticated(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class NotFound(DomainError):
    pass


class AlreadyExists(DomainError):
    pass


class FailedPrecondition(DomainError):
    pass


class ResourceExhausted(DomainError):
    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UnprocessableContent(InvalidArgument):
    """Well-formed but refused as a whole (HTTP 422): an Idempotency-Key reused
    with a different request."""


class Aborted(DomainError):
    """A concurrent call holds what this one needs (409): retry shortly."""


class Unavailable(DomainError):
    """A dependency is down or refusing work: the caller may retry later (503).
    `refused`: nothing was done (no store or peer was called), so another
    process may take the same request at once (the edge retries it)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class DeadlineExceeded(DomainError):
    """A dependency did not answer in time, or the caller's deadline passed (504)."""


class Validator:
    """Collects field violations so a client learns about every bad field at once."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def check(self, ok: bool, field: str, description: str) -> None:
        if not ok:
            self.violations.append(FieldViolation(field, description))

    def raise_if_any(self) -> None:
        if self.violations:
            summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
            raise InvalidArgument(summary, list(self.violations))
