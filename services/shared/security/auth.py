"""Caller identity: access-token verification and who-may-act-as-whom checks.

Access tokens are EdDSA JWTs issued by the users service. Behind the edge a
service trusts the identity Envoy's jwt_authn verified (x-user-id), but only on
a request carrying the edge token; called any other way it verifies the token
itself against the users service's JWKS, fetched over gRPC and cached; an
unknown `kid` triggers a refetch, so key rotation needs no restarts.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import OKPAlgorithm

from services.shared.errors import PermissionDenied, Unauthenticated

ALGORITHM = "EdDSA"

# Set by the edge on every request it forwards: the `sub` of the JWT its
# jwt_authn verified, and proof that the request comes from the edge. The edge
# removes both from client requests before any filter runs.
USER_ID_HEADER = "x-user-id"
EDGE_TOKEN_HEADER = "x-edge-token"  # noqa: S105 - a header name
# The verified token's `sid` (its session), so services can refuse tokens of
# revoked sessions (services/users/client/revocations.py).
SESSION_ID_HEADER = "x-session-id"
# The verified token's account tier (claim `tier`: regular or verified), which
# the per-user write budget of edge/ratelimits.yaml keys on.
TIER_HEADER = "x-user-tier"
# The client's address as the edge determined it (the peer, or the one its
# trusted proxies put in X-Forwarded-For); trusted only beside the edge token.
CLIENT_ADDRESS_HEADER = "x-client-address"

_caller: contextvars.ContextVar[int | None] = contextvars.ContextVar("caller", default=None)
_session: contextvars.ContextVar[int | None] = contextvars.ContextVar("session", default=None)
_client: contextvars.ContextVar[str | None] = contextvars.ContextVar("client", default=None)


def caller_id() -> int:
    """The authenticated user of the current call; UNAUTHENTICATED when anonymous."""
    user_id = _caller.get()
    if user_id is None:
        raise Unauthenticated("authentication required")
    return user_id


def optional_caller_id() -> int | None:
    return _caller.get()


def set_caller(user_id: int | None) -> contextvars.Token[int | None]:
    return _caller.set(user_id)


def caller_session() -> int | None:
    """The session of the current call's access token (None: internal or anonymous)."""
    return _session.get()


def set_session(session_id: int | None) -> None:
    _session.set(session_id)


def require_self(user_id: int, *, action: str = "act") -> int:
    """A user acts only as themselves: PERMISSION_DENIED for anyone else's user_id."""
    me = caller_id()
    if user_id != me:
        raise PermissionDenied(f"you may only {action} as yourself")
    return me


@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: Any  # an Ed25519PublicKey


JwksFetcher = Callable[[], Awaitable[list[Mapping[str, str]]]]


class JwksCache:
    """Public keys from a JWKS source, cached; refreshed on expiry or an unknown kid."""

    def __init__(self, fetch: JwksFetcher, *, ttl_seconds: float = 300.0,
                 min_refresh_seconds: float = 5.0) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, PublicKey] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> PublicKey | None:
        now = time.monotonic()
        stale = now - self._fetched_at > self._ttl
        unknown = kid not in self._keys and now - self._fetched_at > self._min_refresh
        if stale or unknown:
            await self._refresh()
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at <= self._min_refresh:
                return  # another task just refreshed
            jwks = await self._fetch()
            keys = {}
            for jwk in jwks:
                if jwk.get("kty") == "OKP" and jwk.get("kid"):
                    keys[jwk["kid"]] = PublicKey(jwk["kid"], OKPAlgorithm.from_jwk(dict(jwk)))
            self._keys = keys
            self._fetched_at = time.monotonic()


KeyLookup = Callable[[str], Awaitable[Any | None]]


class TokenVerifier:
    """Checks signature (EdDSA only, so `alg: none` and HMAC tricks fail), expiry,
    issuer and audience, and returns the user id in `sub`."""

    def __init__(self, key_lookup: KeyLookup, *, issuer: str, audience: str,
                 leeway_seconds: int = 10) -> None:
        self._key_lookup = key_lookup
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds

    async def verify(self, token: str) -> int:
        user_id, _ = await self.verify_session(token)
        return user_id

    async def verify_session(self, token: str) -> tuple[int, int | None]:
        """The user id in `sub` and the session id in `sid` (None if absent)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed access token") from exc
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise Unauthenticated("invalid access token")
        key = await self._key_lookup(header["kid"])
        if key is None:
            raise Unauthenticated("invalid access token")
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], issuer=self._issuer,
                audience=self._audience, leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("access token expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid access token") from exc
        sub, sid = claims["sub"], claims.get("sid")
        if not isinstance(sub, str) or not sub.isdigit():
            raise Unauthenticated("invalid access token")
        if sid is not None and not (isinstance(sid, str) and sid.isascii() and sid.isdigit()):
            raise Unauthenticated("invalid access token")
        return int(sub), int(sid) if sid is not None else None


def edge_token(internal_token: str) -> str:
    """What the edge presents to services. Derived from the internal token rather
    than equal to it: the edge forwards client requests, and the internal token
    would let a raw gRPC request through the edge call internal RPCs."""
    return hmac.new(internal_token.encode(), b"twitter-mesh edge identity v1",
                    hashlib.sha256).hexdigest()


def edge_user_id(value: str) -> int:
    """The user id the edge forwarded (the verified token's `sub`)."""
    if not value.isascii() or not value.isdigit():
        raise Unauthenticated("missing or invalid identity from the edge")
    return int(value)


def edge_session_id(value: str) -> int | None:
    """The session id the edge forwarded (the verified token's `sid`), if any."""
    if not value:
        return None
    if not value.isascii() or not value.isdigit():
        raise Unauthenticated("missing or invalid identity from the edge")
    return int(value)


def bearer_token(metadata: Mapping[str, str]) -> str | None:
    value = metadata.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def client_address() -> str | None:
    """The caller's network address as the edge saw it; None when the call did
    not come through the edge (or the edge could not tell)."""
    return _client.get()


def set_client_address(address: str | None) -> contextvars.Token[str | None]:
    return _client.set(address)
