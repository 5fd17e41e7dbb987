"""Retention of sessions and refresh tokens: rows nobody can use any more are
deleted in small batches, so the tables stay the size of the live sessions.

- A refresh token is deleted once expired (used or not: presenting it is
  refused either way, whether or not the row is there).
- A session is deleted once its newest refresh token has expired, or once it
  has been revoked for longer than `revoked_grace` (an access token outlives
  a revocation by at most its lifetime, and the revocation must have been
  announced); its remaining refresh tokens go with it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from services.shared.observability.logging import get_logger

log = get_logger(__name__)

Conn = AsyncConnection[Any]

# Only one replica purges at a time (an arbitrary, fixed advisory lock key).
_LOCK_KEY = 0x7573_6572_7372_6574  # "usersret"
_DELETE_TOKENS = """
DELETE FROM refresh_tokens WHERE token_hash IN (
    SELECT token_hash FROM refresh_tokens WHERE expires_at < now() LIMIT %(batch)s)
"""
_DEAD_SESSIONS = """
SELECT session_id FROM sessions s
WHERE (expires_at < now() AND NOT EXISTS (
          SELECT 1 FROM refresh_tokens t WHERE t.session_id = s.session_id
                                           AND t.expires_at >= now()))
   OR (revoked_at < now() - make_interval(secs => %(grace)s) AND revocation_announced)
LIMIT %(batch)s
"""


@dataclass(frozen=True)
class Purged:
    refresh_tokens: int = 0
    sessions: int = 0


class Retention:
    def __init__(self, pool: AsyncConnectionPool, *, revoked_grace: timedelta,
                 batch: int = 1000) -> None:
        self._pool = pool
        self._grace = revoked_grace.total_seconds()
        self._batch = batch

    async def purge_once(self) -> Purged:
        """Deletes everything due now, batch by batch; returns what it deleted."""
        tokens = sessions = 0
        while True:
            async with self._pool.connection() as conn, conn.transaction():
                if not await self._locked(conn):
                    return Purged(tokens, sessions)  # another replica is at it
                deleted = (await conn.execute(_DELETE_TOKENS, {"batch": self._batch})).rowcount
                ids = [r[0] for r in await (await conn.execute(
                    _DEAD_SESSIONS, {"grace": self._grace, "batch": self._batch})).fetchall()]
                if ids:
                    await conn.execute("DELETE FROM refresh_tokens WHERE session_id = ANY(%s)",
                                       (ids,))
                    await conn.execute("DELETE FROM sessions WHERE session_id = ANY(%s)", (ids,))
            tokens += max(deleted, 0)
            sessions += len(ids)
            if deleted < self._batch and len(ids) < self._batch:
                return Purged(tokens, sessions)

    async def _locked(self, conn: Conn) -> bool:
        cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_LOCK_KEY,))
        row = await cur.fetchone()
        return bool(row and row[0])

    async def run(self, every_seconds: float) -> None:
        while True:
            try:
                purged = await self.purge_once()
                if purged.refresh_tokens or purged.sessions:
                    log.info("purged expired sessions", sessions=purged.sessions,
                             refresh_tokens=purged.refresh_tokens)
            except Exception:
                log.exception("session retention failed; retrying next time")
            await asyncio.sleep(every_seconds)
