"""A process that races others for worker id leases (driven by test_worker_lease.py).

    python -m tests.support.lease_racer <cql|pg> <namespace> <leases>

For each line `go` on stdin it acquires <leases> leases at once (each its own
owner, as if each were a process), checks they are all still held, prints their
worker ids as one JSON list, and then waits; on `release` it releases them and
prints `released`. EOF ends it. Addresses come from the environment.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from psycopg_pool import AsyncConnectionPool

from services.shared.config import PostgresSettings, ScyllaSettings
from services.shared.snowflake.cql_worker_lease import CqlLeaseStore
from services.shared.snowflake.pg_worker_lease import PgLeaseStore
from services.shared.snowflake.worker_lease import LeaseStore, WorkerLease
from services.shared.stores.cassandra import Cql


@asynccontextmanager
async def lease_store(kind: str, namespace: str) -> AsyncIterator[LeaseStore]:
    """A real store of the running stack."""
    if kind == "cql":
        cql = await Cql.connect(ScyllaSettings())
        try:
            yield await CqlLeaseStore.open(cql, namespace)
        finally:
            await cql.close()
    elif kind == "pg":
        settings = PostgresSettings()
        pool: AsyncConnectionPool = AsyncConnectionPool(
            settings.pg_dsn.get_secret_value(), min_size=1, max_size=8, open=False)
        await pool.open(wait=True, timeout=30)
        try:
            yield PgLeaseStore(pool, namespace)
        finally:
            await pool.close()
    else:
        raise ValueError(f"unknown store {kind!r}")


async def _line() -> str:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def main(kind: str, namespace: str, count: int) -> None:
    async with lease_store(kind, namespace) as store:
        while await _line() == "go":
            leases = [WorkerLease(store) for _ in range(count)]
            held = await asyncio.gather(*(lease.acquire() for lease in leases))
            # Renewing keeps every one of them.
            assert await asyncio.gather(*(lease.renew() for lease in leases)) == held
            print(json.dumps(held), flush=True)
            if await _line() != "release":
                return
            await asyncio.gather(*(lease.stop() for lease in leases))
            print("released", flush=True)


if __name__ == "__main__":
    # stdout carries the protocol; logs (e.g. "worker id leased") go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
