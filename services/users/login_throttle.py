"""Keys and retention of the failed-login throttle (the table login_failures;
its lock queries are in sessions.py).

A row is keyed on the account a login name resolves to ("user:<id>"), so the
username, the e-mail address and every case of either share one failure count
and one lock: no way of typing the name gets a fresh budget (issue 22). A name
that resolves to no account is keyed on itself ("name:<name>", normalised by
domain.login_name) and locks just the same, so the throttle does not show
which names are accounts. What it does show, by design: once one name of an
account is locked, its other name is too.
"""

from __future__ import annotations

import asyncio

from psycopg_pool import AsyncConnectionPool

from services.shared.logging import get_logger

log = get_logger(__name__)

# Rows no longer count once their failures are older than the reset window
# (record_failure starts again from 1) and any lock has run out.
_PURGE = """
DELETE FROM login_failures WHERE login IN (
    SELECT login FROM login_failures
    WHERE last_failed_at < now() - make_interval(secs => %(reset)s)
      AND (locked_until IS NULL OR locked_until < now())
    LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
"""


def throttle_key(name: str, user_id: int | None) -> str:
    """The login_failures key of a normalised login name and its account."""
    return f"user:{user_id}" if user_id is not None else f"name:{name}"


class FailurePurge:
    """Deletes login_failures rows that no longer count, in small batches so a
    pass never holds many row locks. Every users process runs it: concurrent
    passes skip each other's rows."""

    def __init__(self, pool: AsyncConnectionPool, *, reset_seconds: float,
                 batch: int = 1000) -> None:
        self._pool = pool
        self._reset = reset_seconds
        self._batch = batch

    async def purge_once(self) -> int:
        """One pass; returns how many rows it deleted."""
        deleted = 0
        while True:
            async with self._pool.connection() as conn, conn.transaction():
                cur = await conn.execute(_PURGE, {"reset": self._reset, "batch": self._batch})
            deleted += cur.rowcount
            if cur.rowcount < self._batch:
                return deleted

    async def run(self, every_seconds: float) -> None:
        while True:
            try:
                deleted = await self.purge_once()
                if deleted:
                    log.info("purged stale login failures", deleted=deleted)
            except Exception:
                log.exception("login failure purge failed; retrying next time")
            await asyncio.sleep(every_seconds)
