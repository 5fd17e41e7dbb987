"""gRPC channels to other services: internal token on every call, retries of
transient failures through the channel's service config (not hand-written loops),
the caller's deadline passed on, a circuit breaker per peer, and the peer's
errors mapped by the shared failure policy (services/shared/resilience/failures.py).

Every internal RPC a service calls is a read, so retrying UNAVAILABLE is safe."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import grpc

from services.shared.observability import telemetry
from services.shared.resilience import deadline, failures
from services.shared.resilience.breaker import CircuitBreaker, guarded
from services.shared.rpc.interceptors import INTERNAL_TOKEN_HEADER

# A peer call takes at most this long unless its caller's deadline is shorter.
DEFAULT_TIMEOUT_SECONDS = 10.0

_SERVICE_CONFIG = {
    # Spread calls over every address DNS returns (a headless Service in
    # Kubernetes), rather than pinning one HTTP/2 connection to one pod.
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 4,
            "initialBackoff": "0.05s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
}


class _InternalToken(grpc.aio.UnaryUnaryClientInterceptor,
                     grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, token: str) -> None:
        self._token = token

    def _with_token(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add(INTERNAL_TOKEN_HEADER, self._token)
        # The caller's trace context: the peer's span joins the caller's trace.
        for key, value in telemetry.inject({}).items():
            metadata.add(key, value)
        return grpc.aio.ClientCallDetails(details.method, details.timeout, metadata,
                                          details.credentials, details.wait_for_ready)

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_token(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_token(details), request)


class _PeerPolicy(grpc.aio.UnaryUnaryClientInterceptor):
    """Deadline, breaker and error mapping around each unary call to one peer."""

    def __init__(self, peer: str) -> None:
        self._peer = peer
        self.breaker = CircuitBreaker(f"peer:{peer}", failures=5)

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        timeout = deadline.bounded(details.timeout or DEFAULT_TIMEOUT_SECONDS)
        details = grpc.aio.ClientCallDetails(details.method, timeout, details.metadata,
                                             details.credentials, details.wait_for_ready)
        async with guarded(self.breaker, f"the {self._peer} service"):
            try:
                return await (await continuation(details, request))
            except grpc.aio.AioRpcError as exc:
                # UNAVAILABLE and DEADLINE_EXCEEDED count against the breaker;
                # any other answer shows the peer is up.
                raise failures.from_peer(exc) from exc


def internal_channel(address: str, internal_token: str, *, peer: str | None = None,
                     interceptors: Sequence[grpc.aio.ClientInterceptor] = ()
                     ) -> grpc.aio.Channel:
    """A channel for calling another service's internal RPCs. A service names
    the `peer` it calls: its calls then get the failure policy (deadline,
    breaker, mapped errors). Without one (tests, tools) calls raise grpc's own
    errors."""
    policy: list[grpc.aio.ClientInterceptor] = [_PeerPolicy(peer)] if peer else []
    return grpc.aio.insecure_channel(
        address,
        interceptors=[*policy, _InternalToken(internal_token), *interceptors],
        options=[
            ("grpc.service_config", json.dumps(_SERVICE_CONFIG)),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )
