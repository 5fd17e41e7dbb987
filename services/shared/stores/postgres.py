"""PostgreSQL connection pools that heal after a restart and fail fast while
the server is down.

psycopg_pool reconnects by itself, but with its defaults a restart costs
minutes: pooled connections broken by the restart are handed out and fail,
and reconnection backs off exponentially for up to five minutes. Here each
connection idle for a second or more is checked as it is handed out (an empty
round trip), a failed reconnection gives up after `RECONNECT_SECONDS` so the
next request starts a fresh attempt, a request waits for a connection no longer than its deadline,
and a circuit breaker answers UNAVAILABLE at once while the server is down.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Self

import psycopg
import psycopg.errors
import psycopg_pool
from psycopg import AsyncConnection, AsyncCursor
from psycopg.abc import Params
from psycopg_pool import AsyncConnectionPool

from services.shared.config import PostgresSettings
from services.shared.observability import telemetry
from services.shared.resilience import deadline, failures
from services.shared.resilience.breaker import CircuitBreaker, guarded
from services.shared.resilience.health import Required

# No pooled connection in time, connection lost or refused: down. A statement
# past statement_timeout: too slow. Any other OperationalError (server shutting
# down, connection broken mid-query, too many connections): down, retry later.
failures.register(
    "the database", modules=("psycopg", "psycopg_pool"),
    unavailable=(psycopg_pool.PoolTimeout, psycopg.InterfaceError),
    timeout=(psycopg.errors.QueryCanceled,),
    unavailable_last=(psycopg.OperationalError,))

RECONNECT_SECONDS = 5.0
# How long a request may wait for a pooled connection (pool exhausted or the
# server slow to accept), unless its deadline is sooner.
CHECKOUT_SECONDS = 2.0
# A connection back in the pool for less than this is handed out unchecked:
# under load every checkout would otherwise pay a round trip (0.4-1.7 ms in
# traces), while a restart's broken connections sit idle longer than this.
# One that slips through fails its query (UNAVAILABLE) and is replaced.
UNCHECKED_SECONDS = 1.0


class TracedCursor(AsyncCursor[Any]):
    """A cursor whose statements get a span and a latency sample per family."""

    async def execute(self, query: Any, params: Params | None = None, *,
                      prepare: bool | None = None, binary: bool | None = None) -> Self:
        family = telemetry.statement_family(query if isinstance(query, str) else str(query))
        with telemetry.store_call("postgresql", family):
            return await super().execute(query, params, prepare=prepare, binary=binary)


class GuardedPool(AsyncConnectionPool[AsyncConnection[Any]]):
    """An AsyncConnectionPool whose checkouts go through a circuit breaker."""

    def __init__(self, dsn: str, *, name: str, min_size: int, max_size: int) -> None:
        self.breaker = CircuitBreaker(f"postgres:{name}")
        self._returned: weakref.WeakKeyDictionary[AsyncConnection[Any], float] = \
            weakref.WeakKeyDictionary()
        super().__init__(dsn, min_size=min_size, max_size=max_size, open=False, name=name,
                         check=self._check, reconnect_timeout=RECONNECT_SECONDS,
                         kwargs={"cursor_factory": TracedCursor},
                         timeout=CHECKOUT_SECONDS)

    async def _check(self, conn: AsyncConnection[Any]) -> None:
        """A pooled connection broken by a restart is dropped here, before a
        request uses it; each such drop counts against the breaker, so a server
        that went away is noticed by the first few checkouts, not after each
        waited its full timeout."""
        returned = self._returned.get(conn)
        if returned is not None and time.monotonic() - returned < UNCHECKED_SECONDS:
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            self.breaker.failed()
            raise

    async def putconn(self, conn: AsyncConnection[Any]) -> None:
        self._returned[conn] = time.monotonic()
        await super().putconn(conn)

    async def getconn(self, timeout: float | None = None) -> AsyncConnection[Any]:  # noqa: ASYNC109 - the pool's own signature
        async with guarded(self.breaker, "the database"):
            return await super().getconn(deadline.bounded(timeout or CHECKOUT_SECONDS))


async def ping(pool: GuardedPool) -> None:
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")


def required(pool: GuardedPool) -> Required:
    """The pool as a store its process cannot serve without
    (services/shared/resilience/health.py)."""
    async def check() -> None:
        await ping(pool)
    return Required("the database", pool.breaker, check)


async def open_pool(settings: PostgresSettings, name: str) -> GuardedPool:
    pool = GuardedPool(settings.pg_dsn.get_secret_value(), name=name,
                       min_size=settings.pg_pool_min, max_size=settings.pg_pool_max)
    await pool.open(wait=True, timeout=30)
    return pool
