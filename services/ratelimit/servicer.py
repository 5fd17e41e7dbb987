"""Transport: envoy.service.ratelimit.v3.RateLimitService over the Limiter."""

from __future__ import annotations

from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2  # type: ignore[import-untyped]
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc  # type: ignore[import-untyped]
from google.protobuf import duration_pb2
from redis.exceptions import RedisError

from services.ratelimit.limiter import DescriptorVerdict, Limiter
from services.ratelimit.rules import UNIT_SECONDS
from services.shared import errors
from services.shared.observability.logging import get_logger

log = get_logger(__name__)

RateLimitResponse = rls_pb2.RateLimitResponse
_UNITS = {name: getattr(RateLimitResponse.RateLimit, name.upper()) for name in UNIT_SECONDS}


def _status(v: DescriptorVerdict) -> Any:
    if v.limit is None:
        return RateLimitResponse.DescriptorStatus(code=RateLimitResponse.OK)
    return RateLimitResponse.DescriptorStatus(
        code=RateLimitResponse.OVER_LIMIT if v.over else RateLimitResponse.OK,
        current_limit=RateLimitResponse.RateLimit(
            name=v.limit.name, requests_per_unit=v.limit.requests_per_unit,
            unit=_UNITS[v.limit.unit]),
        limit_remaining=v.remaining,
        duration_until_reset=duration_pb2.Duration(seconds=v.reset_seconds),
    )


class RateLimitServicer(rls_pb2_grpc.RateLimitServiceServicer):  # type: ignore[misc]
    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter

    async def ShouldRateLimit(self, request: Any,
                              context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        descriptors = [[(e.key, e.value) for e in d.entries] for d in request.descriptors]
        try:
            verdict = await self._limiter.check(request.domain, descriptors,
                                                request.hits_addend or 1)
        except (RedisError, OSError, TimeoutError) as exc:
            # Envoy fails open on an error (failure_mode_deny: false): no request
            # is refused because Redis is down, none is counted either.
            log.warning("redis unavailable", error=type(exc).__name__)
            raise errors.Unavailable("rate limit store unavailable") from exc
        response = RateLimitResponse(
            overall_code=RateLimitResponse.OVER_LIMIT if verdict.over_limit
            else RateLimitResponse.OK,
            statuses=[_status(v) for v in verdict.descriptors],
        )
        if verdict.over_limit:
            # Envoy uses raw_body as its local reply's body, which the edge's
            # local_reply_config wraps into {code, message, details}.
            response.raw_body = verdict.message().encode()
            response.response_headers_to_add.append(base_pb2.HeaderValue(
                key="retry-after", value=str(verdict.retry_after_seconds)))
        return response
