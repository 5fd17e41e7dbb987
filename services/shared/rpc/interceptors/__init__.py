"""The server interceptors every service installs: single-purpose steps
(chain.py) run by one `Chain`. `ServiceInterceptor` builds the standard chain,
outermost first:

    Tracing          a span per call (observe.py)
    RequestLogging   method and request id on every log line (observe.py)
    LatencyMetrics   grpc_server_handling_seconds (observe.py)
    MapErrors        escaped errors as statuses (error_mapping.py)
    Deadlines        the caller's deadline for the call's own calls (deadlines.py)
    InternalOnly     internal methods need the internal token (access.py)
    Authenticate     the caller's identity: edge header or JWT (authentication.py)
    IdempotentWrites kept answers of keyed writes (idempotent_writes.py)
"""

from __future__ import annotations

from collections.abc import Callable

from services.shared.contracts import Access
from services.shared.rpc import idempotency as idempotency_store
from services.shared.rpc.interceptors.access import (
    INTERNAL_TOKEN_HEADER,
    InternalOnly,
    access_policy,
)
from services.shared.rpc.interceptors.authentication import Authenticate
from services.shared.rpc.interceptors.chain import Chain, Step
from services.shared.rpc.interceptors.deadlines import Deadlines
from services.shared.rpc.interceptors.error_mapping import MapErrors
from services.shared.rpc.interceptors.idempotent_writes import IdempotentWrites
from services.shared.rpc.interceptors.observe import LatencyMetrics, RequestLogging, Tracing
from services.shared.security import auth
from services.users.client.revocations import RevokedSessions

__all__ = ["INTERNAL_TOKEN_HEADER", "Chain", "ServiceInterceptor", "access_policy"]


class ServiceInterceptor(Chain):
    """The standard chain of a service (the module docstring lists it)."""

    def __init__(
        self,
        *,
        access: Callable[[str], Access],
        verifier: auth.TokenVerifier | None,
        internal_token: str,
        revoked: RevokedSessions | None = None,
        idempotency: idempotency_store.IdempotencyStore | None = None,
    ) -> None:
        steps: list[Step] = [
            Tracing(), RequestLogging(), LatencyMetrics(), MapErrors(), Deadlines(),
            InternalOnly(access, internal_token),
            Authenticate(access, verifier=verifier, internal_token=internal_token,
                         revoked=revoked),
        ]
        if idempotency is not None:
            steps.append(IdempotentWrites(access, idempotency))
        super().__init__(steps)
