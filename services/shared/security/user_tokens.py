"""Token verification for services other than users: the users service's JWKS,
fetched over gRPC (internal RPC) and cached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.rpc.idempotency import IdempotencyStore
from services.shared.rpc.interceptors import ServiceInterceptor, access_policy
from services.shared.security.auth import JwksCache, TokenVerifier
from services.users.client.revocations import RevokedSessions


def jwks_verifier(settings: AuthSettings, users_channel: grpc.aio.Channel) -> TokenVerifier:
    stub = users_pb2_grpc.AuthServiceStub(users_channel)

    async def fetch() -> list[Mapping[str, str]]:
        response = await stub.GetJwks(users_pb2.GetJwksRequest(), timeout=5)
        return [{"kty": k.kty, "crv": k.crv, "x": k.x, "kid": k.kid, "alg": k.alg, "use": k.use}
                for k in response.keys]

    cache = JwksCache(fetch, ttl_seconds=settings.jwks_cache_seconds)

    async def lookup(kid: str) -> Any | None:
        key = await cache.get(kid)
        return key.key if key else None

    return TokenVerifier(lookup, issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                         leeway_seconds=settings.jwt_leeway_seconds)


def user_interceptor(settings: AuthSettings, services: list[Any],
                     users_channel: grpc.aio.Channel,
                     revoked: RevokedSessions | None = None,
                     idempotency: IdempotencyStore | None = None) -> ServiceInterceptor:
    """The interceptor of a service called by users (tokens checked against the
    users service's JWKS and the revoked sessions) and, on its internal RPCs,
    by other services. With `idempotency`, its writes take an Idempotency-Key."""
    return ServiceInterceptor(access=access_policy(services),
                              verifier=jwks_verifier(settings, users_channel),
                              internal_token=settings.internal_token.get_secret_value(),
                              revoked=revoked, idempotency=idempotency)
