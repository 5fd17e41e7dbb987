"""Announcing revoked sessions to every service (services/users/client/revocations.py).

A revocation is committed in PostgreSQL first (the source of truth), then
announced on Redis and marked announced. When Redis cannot take it (down at
logout), the background loop announces it later; and if Redis lost the stream
(restarted without persistence), the loop announces again every revocation
still in force, so a process started afterwards still learns of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from services.shared.observability.logging import get_logger
from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.users import sessions
from services.users.client.revocations import STREAM, Revocation, announce

log = get_logger(__name__)


class RevocationAnnouncer:
    def __init__(self, pool: AsyncConnectionPool, redis: RedisClient, *,
                 window_seconds: float) -> None:
        self._pool = pool
        self._redis = redis
        # Access-token lifetime plus leeway: no token of a session revoked
        # longer ago than this is valid anyway.
        self._window = window_seconds

    def _revocations(self, rows: Iterable[tuple[int, datetime]]) -> list[Revocation]:
        return [Revocation(sid, revoked_at.timestamp() + self._window)
                for sid, revoked_at in rows]

    async def announce(self, session_ids: list[int]) -> None:
        """Announces these sessions' revocations (committed already). Never
        raises: what is not announced now, the loop announces later."""
        try:
            await self._announce_pending(session_ids)
        except (*redis_client.REDIS_ERRORS, OSError):
            log.warning("revocation not announced yet; retrying in the background",
                        exc_info=True)

    async def _announce_pending(self, session_ids: list[int] | None) -> int:
        async with self._pool.connection() as conn:
            rows = await sessions.unannounced(conn, session_ids)
        if rows:
            await announce(self._redis, self._revocations(rows), window_seconds=self._window)
            async with self._pool.connection() as conn:
                await sessions.mark_announced(conn, [sid for sid, _ in rows])
        return len(rows)

    async def _reseed_if_lost(self) -> None:
        if await self._redis.exists(STREAM):
            return
        async with self._pool.connection() as conn:
            rows = await sessions.revoked_since(conn, self._window)
        if rows:
            log.warning("revocation stream missing: announcing again", sessions=len(rows))
            await announce(self._redis, self._revocations(rows), window_seconds=self._window)

    async def run(self, every_seconds: float = 2.0) -> None:
        while True:
            try:
                await self._reseed_if_lost()
                while await self._announce_pending(None):
                    pass
            except Exception:
                log.warning("announcing revocations failed; retrying", exc_info=True)
            await asyncio.sleep(every_seconds)
