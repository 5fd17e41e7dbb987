"""The ratelimit service serves Envoy's contract (envoy.service.ratelimit.v3),
to the edge only: the internal token or PERMISSION_DENIED."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from envoy.extensions.common.ratelimit.v3 import ratelimit_pb2  # type: ignore[import-untyped]
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc  # type: ignore[import-untyped]

from tests.support.conformance import Channels, rejected


@pytest.fixture(scope="module")
def rls(channel: Channels) -> Any:
    return rls_pb2_grpc.RateLimitServiceStub(channel("ratelimit"))


def _request() -> Any:
    return rls_pb2.RateLimitRequest(domain="edge", descriptors=[
        ratelimit_pb2.RateLimitDescriptor(entries=[ratelimit_pb2.RateLimitDescriptor.Entry(
            key="remote_address", value=uuid.uuid4().hex)])])


async def test_only_with_the_internal_token(rls: Any, internal_token: str) -> None:
    error = await rejected(rls.ShouldRateLimit(_request()))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    answer = await rls.ShouldRateLimit(_request(),
                                       metadata=(("x-internal-token", internal_token),))
    assert answer.overall_code == rls_pb2.RateLimitResponse.OK
