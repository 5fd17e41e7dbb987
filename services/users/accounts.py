"""Sign-up, login and token lifecycle (service layer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from psycopg_pool import AsyncConnectionPool

from services.shared.concurrency.keyed_lock import KeyedLocks
from services.shared.errors import AlreadyExists, ResourceExhausted, Unauthenticated
from services.shared.messaging import pg_outbox
from services.shared.security import auth
from services.shared.snowflake.ids import IdGenerator
from services.users import events, login_throttle, repository, sessions
from services.users.domain import UserRecord, login_name, tier, validate_sign_up
from services.users.login_throttle import Slots, ThrottlePolicy, source_of, throttle_key
from services.users.passwords import Passwords
from services.users.revocations import RevocationAnnouncer
from services.users.tokens import AccessTokens, Keyring, hash_refresh_token, new_refresh_token

BAD_CREDENTIALS = "invalid username or password"


@dataclass(frozen=True)
class LoginPolicy:
    refresh_ttl: timedelta
    throttle: ThrottlePolicy


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user_id: int


class Accounts:
    def __init__(self, pool: AsyncConnectionPool, ids: IdGenerator, passwords: Passwords,
                 keyring: Keyring, access_tokens: AccessTokens, policy: LoginPolicy, *,
                 revocations: RevocationAnnouncer | None = None) -> None:
        self._pool = pool
        self._revocations = revocations
        self._ids = ids
        self._passwords = passwords
        self._keyring = keyring
        self._access = access_tokens
        self._policy = policy
        self._sign_up_claims = KeyedLocks()

    async def sign_up(self, username: str, email: str, password: str,
                      display_name: str) -> UserRecord:
        request = validate_sign_up(username, email, password, display_name)
        # Racing sign-ups for one name or email queue here, so only the first
        # pays for a password hash; the unique indexes still decide across replicas.
        claims = (f"u:{request.username.lower()}", f"e:{request.email.lower()}")
        async with self._sign_up_claims.hold(claims):
            async with self._pool.connection() as conn:
                taken = await repository.taken_fields(conn, request.username, request.email)
            if taken:
                raise AlreadyExists(f"{taken[0].field} is already taken")
            password_hash = await self._passwords.hash(request.password)
            async with self._pool.connection() as conn, conn.transaction():
                user = await repository.insert_user(conn, self._ids.next_id(), request,
                                                    password_hash)
                async with conn.cursor() as cur:
                    await pg_outbox.enqueue(cur, [events.user_created(user)])
        return user

    async def login(self, login: str, password: str) -> TokenPair:
        name = login_name(login)
        async with self._pool.connection() as conn:
            credentials = await repository.get_credentials(conn, name)
        # One throttle per account, whichever of its names was typed (a name
        # that is no account's has its own, so both behave alike), kept per
        # source and for the account as a whole (login_throttle.py).
        policy = self._policy.throttle
        slots = Slots.of(throttle_key(name, credentials[0] if credentials else None),
                         source_of(auth.client_address()), policy)
        try:
            # A slot first, so concurrent guesses cannot all pass one check.
            await login_throttle.reserve(self._pool, slots, policy)
        except login_throttle.Refused as refused:
            wait = ((refused.locked_until - datetime.now(UTC)).total_seconds()
                    if refused.locked_until is not None else 1.0)
            raise ResourceExhausted("too many failed logins; try again later",
                                    retry_after_seconds=max(wait, 1.0)) from None
        try:
            # Verify even for an unknown user (against a dummy hash): same work, same time.
            ok = await self._passwords.verify(credentials[1] if credentials else None,
                                              password)
        except BaseException:
            # Cancelled or failed: counted as a failure, so that is no way
            # around the budget either.
            async with self._pool.connection() as conn, conn.transaction():
                await login_throttle.record_failure(conn, slots, policy)
            raise
        if not ok or credentials is None:
            async with self._pool.connection() as conn, conn.transaction():
                await login_throttle.record_failure(conn, slots, policy)
            raise Unauthenticated(BAD_CREDENTIALS)
        user_id, password_hash = credentials
        async with self._pool.connection() as conn, conn.transaction():
            await login_throttle.record_success(conn, slots)
            if self._passwords.needs_rehash(password_hash):
                await repository.set_password_hash(conn, user_id,
                                                   await self._passwords.hash(password))
            session_id = self._ids.next_id()
            refresh, refresh_hash = new_refresh_token()
            await sessions.create_session(conn, session_id, user_id, refresh_hash,
                                          datetime.now(UTC) + self._policy.refresh_ttl)
            verified = await repository.is_verified(conn, user_id)
        return self._pair(user_id, session_id, refresh, verified)

    async def refresh(self, refresh_token: str) -> TokenPair:
        new_token, new_hash = new_refresh_token()
        async with self._pool.connection() as conn, conn.transaction():
            outcome, user_id, session_id = await sessions.rotate(
                conn, hash_refresh_token(refresh_token), new_hash,
                datetime.now(UTC) + self._policy.refresh_ttl)
            # A refresh picks up a tier changed since the last token.
            verified = await repository.is_verified(conn, user_id)
        if outcome is not sessions.Rotation.OK:
            # REUSED has already revoked the session (committed above): whoever
            # holds either copy of the token must log in again.
            if outcome is sessions.Rotation.REUSED:
                await self._announce(session_id)
            raise Unauthenticated("invalid refresh token")
        return self._pair(user_id, session_id, new_token, verified)

    async def logout(self, refresh_token: str) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            session_id = await sessions.session_of(conn, hash_refresh_token(refresh_token))
            if session_id is not None:
                await sessions.revoke(conn, session_id)
        if session_id is not None:
            await self._announce(session_id)

    async def _announce(self, session_id: int) -> None:
        """Ends the session's access tokens in every service (revocations.py)."""
        if self._revocations is not None:
            await self._revocations.announce([session_id])

    def jwks(self) -> list[dict[str, str]]:
        return self._keyring.jwks()

    def _pair(self, user_id: int, session_id: int, refresh_token: str,
              verified: bool) -> TokenPair:
        return TokenPair(self._access.issue(user_id, session_id, tier=tier(verified)),
                         refresh_token, self._access.ttl_seconds, user_id)
