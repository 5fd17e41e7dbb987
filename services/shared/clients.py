"""gRPC channels to other services: internal token on every call, retries of
transient failures through the channel's service config (not hand-written loops)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import grpc

from services.shared.interceptor import INTERNAL_TOKEN_HEADER

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
        return grpc.aio.ClientCallDetails(details.method, details.timeout, metadata,
                                          details.credentials, details.wait_for_ready)

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_token(details), request)

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_token(details), request)


def internal_channel(address: str, internal_token: str, *,
                     interceptors: Sequence[grpc.aio.ClientInterceptor] = ()
                     ) -> grpc.aio.Channel:
    """A channel for calling another service's internal RPCs."""
    return grpc.aio.insecure_channel(
        address,
        interceptors=[_InternalToken(internal_token), *interceptors],
        options=[
            ("grpc.service_config", json.dumps(_SERVICE_CONFIG)),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
        ],
    )
