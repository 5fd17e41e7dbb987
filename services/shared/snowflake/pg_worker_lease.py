"""Worker id leases on PostgreSQL: one row per (namespace, worker id) with its
expiry, always compared with the database server's clock (`now()`), so the
services' clocks play no part in who holds an id.

Table `worker_leases` (services/users/migrations/postgres/0003_users_worker_leases.sql).
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

# A conflicting insert takes the row over only once it has expired; two takers
# racing for one id serialise on the row, and the second sees the first's expiry.
_TAKE = """
INSERT INTO worker_leases (namespace, worker_id, owner, expires_at)
VALUES (%(ns)s, %(worker)s, %(owner)s, now() + %(ttl)s * interval '1 second')
ON CONFLICT (namespace, worker_id) DO UPDATE
    SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
    WHERE worker_leases.expires_at < now()
RETURNING worker_id
"""
_RENEW = """
UPDATE worker_leases SET expires_at = now() + %(ttl)s * interval '1 second'
WHERE namespace = %(ns)s AND worker_id = %(worker)s AND owner = %(owner)s
  AND expires_at > now()
"""
_RELEASE = """
DELETE FROM worker_leases
WHERE namespace = %(ns)s AND worker_id = %(worker)s AND owner = %(owner)s
"""


class PgLeaseStore:
    """A `services.shared.snowflake.worker_lease.LeaseStore` on PostgreSQL."""

    def __init__(self, pool: AsyncConnectionPool[Any], namespace: str) -> None:
        self.namespace = namespace
        self._pool = pool

    async def take(self, worker_id: int, owner: str, ttl_seconds: int) -> bool:
        return await self._run(_TAKE, worker_id, owner, ttl_seconds) == 1

    async def renew(self, worker_id: int, owner: str, ttl_seconds: int) -> bool:
        return await self._run(_RENEW, worker_id, owner, ttl_seconds) == 1

    async def release(self, worker_id: int, owner: str) -> None:
        await self._run(_RELEASE, worker_id, owner)

    async def _run(self, query: str, worker_id: int, owner: str, ttl_seconds: int = 0) -> int:
        # One statement, one transaction: now() is the time it started.
        async with self._pool.connection() as conn:
            cur = await conn.execute(query, {"ns": self.namespace, "worker": worker_id,
                                             "owner": owner, "ttl": ttl_seconds})
            rows: int = cur.rowcount
            return rows
