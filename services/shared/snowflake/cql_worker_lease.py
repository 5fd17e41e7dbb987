"""Worker id leases on ScyllaDB/Cassandra: one row per (namespace, worker id),
written only by lightweight transactions and expired by the row's TTL.

Table `worker_leases` (services/media/migrations/cql/0002_worker_leases.cql).
A renewal rewrites `owner` with a fresh TTL; the row lives while that cell
does, so `IF NOT EXISTS` fails until the last renewal's TTL has run out.
"""

from __future__ import annotations

from cassandra.query import PreparedStatement

from services.shared.stores.cassandra import Cql, applied

_QUERIES = {
    "take": "INSERT INTO worker_leases (namespace, worker_id, owner) VALUES (?, ?, ?)"
            " IF NOT EXISTS USING TTL ?",
    "renew": "UPDATE worker_leases USING TTL ? SET owner = ?"
             " WHERE namespace = ? AND worker_id = ? IF owner = ?",
    "release": "DELETE FROM worker_leases WHERE namespace = ? AND worker_id = ? IF owner = ?",
}


def _store_ttl(ttl_seconds: int) -> int:
    # A replica computes expiry from its clock truncated to whole seconds, so a
    # cell may die up to a second before `ttl` after the write: one more second
    # keeps "expires no earlier than ttl after the request started".
    return ttl_seconds + 1


class CqlLeaseStore:
    """A `services.shared.snowflake.worker_lease.LeaseStore` on CQL."""

    def __init__(self, cql: Cql, namespace: str, statements: dict[str, PreparedStatement]
                 ) -> None:
        self.namespace = namespace
        self._cql = cql
        self._s = statements

    @classmethod
    async def open(cls, cql: Cql, namespace: str) -> CqlLeaseStore:
        return cls(cql, namespace, {name: await cql.prepare(q) for name, q in _QUERIES.items()})

    async def take(self, worker_id: int, owner: str, ttl_seconds: int) -> bool:
        return applied(await self._cql.execute(
            self._s["take"], (self.namespace, worker_id, owner, _store_ttl(ttl_seconds))))

    async def renew(self, worker_id: int, owner: str, ttl_seconds: int) -> bool:
        return applied(await self._cql.execute(
            self._s["renew"], (_store_ttl(ttl_seconds), owner, self.namespace, worker_id, owner)))

    async def release(self, worker_id: int, owner: str) -> None:
        await self._cql.execute(self._s["release"], (self.namespace, worker_id, owner))
