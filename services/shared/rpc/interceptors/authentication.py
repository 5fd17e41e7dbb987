"""Who the caller is. Behind the edge a service trusts the identity Envoy's
jwt_authn verified (x-user-id), but only on a request carrying the edge token;
called any other way it verifies the bearer token itself. A revoked session
ends at once (an in-memory lookup, services/users/client/revocations.py).
Every call also learns the client's address when the edge vouches for it:
even public calls (login) need it, their throttle keys on it."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping

import structlog

from services.shared import errors
from services.shared.contracts import Access
from services.shared.rpc.interceptors.chain import Before, Ctx, metadata
from services.shared.security import auth
from services.users.client.revocations import RevokedSessions


class Authenticate(Before):
    def __init__(self, access: Callable[[str], Access], *, verifier: auth.TokenVerifier | None,
                 internal_token: str, revoked: RevokedSessions | None = None) -> None:
        self._access = access
        self._verifier = verifier
        self._revoked = revoked
        self._edge_token = auth.edge_token(internal_token).encode()

    def prepare(self, method: str) -> Callable[[Ctx], Awaitable[None]]:
        if self._access(method) is Access.USER:
            return self._user
        return self._anyone  # a stale token must not break sign-up or login

    async def _anyone(self, context: Ctx) -> None:
        self._from_edge(metadata(context))

    async def _user(self, context: Ctx) -> None:
        md = metadata(context)
        if self._from_edge(md):
            # The edge verified the JWT already; verifying it again per service
            # cost as much as the read itself.
            user_id = auth.edge_user_id(md.get(auth.USER_ID_HEADER, ""))
            session_id = auth.edge_session_id(md.get(auth.SESSION_ID_HEADER, ""))
        else:
            user_id, session_id = await self._verify(md)
        if session_id is not None and self._revoked is not None \
                and self._revoked.is_revoked(session_id):
            raise errors.Unauthenticated("the session has ended: log in again")
        auth.set_caller(user_id)
        auth.set_session(session_id)
        structlog.contextvars.bind_contextvars(user_id=user_id)

    def _from_edge(self, md: Mapping[str, str]) -> bool:
        """Resets the call's identity; whether the edge sent the call."""
        auth.set_caller(None)
        auth.set_session(None)
        from_edge = hmac.compare_digest(md.get(auth.EDGE_TOKEN_HEADER, "").encode(),
                                        self._edge_token)
        auth.set_client_address(md.get(auth.CLIENT_ADDRESS_HEADER) or None
                                if from_edge else None)
        return from_edge

    async def _verify(self, md: Mapping[str, str]) -> tuple[int, int | None]:
        token = auth.bearer_token(md)
        if token is None:
            raise errors.Unauthenticated("missing bearer token")
        if self._verifier is None:  # pragma: no cover - wiring error
            raise errors.Unavailable("token verification is not configured")
        return await self._verifier.verify_session(token)
