"""CQL sessions for services on ScyllaDB (Cassandra locally): token-aware
routing, prepared statements, and the driver's callback API bridged to asyncio.

The driver runs its I/O on its own threads; `Cql.execute` hands each response
back to the event loop with `call_soon_threadsafe`, so a request never blocks
the loop and thousands of queries can be in flight at once (bounded by
`concurrency`, which keeps a burst such as a 100-id batch read from flooding
the coordinator's queues).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import cassandra.connection
import cassandra.protocol
from cassandra import ConsistencyLevel
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement, dict_factory

from services.shared.config import ScyllaSettings
from services.shared.observability import telemetry
from services.shared.resilience import deadline, failures
from services.shared.resilience.breaker import CircuitBreaker, guarded
from services.shared.resilience.health import Required

# No node reachable, not enough replicas, overloaded: down. Read/WriteTimeout
# (cassandra.Timeout) and a request's client-side timeout: too slow.
failures.register(
    "the database", modules=("cassandra",),
    unavailable=(NoHostAvailable, cassandra.connection.ConnectionException,
                 cassandra.Unavailable, cassandra.CoordinationFailure,
                 cassandra.protocol.OverloadedErrorMessage,
                 cassandra.protocol.IsBootstrappingErrorMessage),
    timeout=(cassandra.OperationTimedOut, cassandra.Timeout))

Row = dict[str, Any]
Params = Sequence[Any] | Mapping[str, Any]
SERIAL = "serial"  # execution profile for SERIAL reads (they finish in-flight Paxos rounds)


class Cql:
    """A connected session with prepared statements and awaitable execution."""

    def __init__(self, cluster: Cluster, session: Session, *, concurrency: int = 256,
                 request_timeout: float = 10.0) -> None:
        self._cluster = cluster
        self._session = session
        self._gate = asyncio.Semaphore(concurrency)
        self._prepared: dict[str, PreparedStatement] = {}
        self._timeout = request_timeout
        # A node that is down answers NoHostAvailable at once, but a hung one
        # costs each query its whole timeout; the breaker makes that one query
        # per second instead of every query.
        self.breaker = CircuitBreaker("cassandra", failures=5)

    @classmethod
    async def connect(cls, settings: ScyllaSettings, *, request_timeout: float = 10.0,
                      concurrency: int = 256) -> Cql:
        # Token-aware routing sends each statement straight to a replica of its
        # partition (and, on ScyllaDB, to the owning shard).
        routing = TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=settings.scylla_local_dc))
        common: dict[str, Any] = {"load_balancing_policy": routing, "row_factory": dict_factory,
                                  "request_timeout": request_timeout}
        profiles = {
            EXEC_PROFILE_DEFAULT: ExecutionProfile(
                consistency_level=ConsistencyLevel.LOCAL_QUORUM,
                serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL, **common),
            SERIAL: ExecutionProfile(consistency_level=ConsistencyLevel.LOCAL_SERIAL, **common),
        }
        # Off unless SCYLLA_COMPRESSION: on a fast network it only spends the
        # driver's CPU (which bounds the tweets service under load).
        # Reconnects at most 1 s apart (the driver's default backs off to 10
        # minutes), so the service heals within seconds of the database coming
        # back (issue #32: at most 5 s of 503 after a restart).
        cluster = Cluster(settings.host_list, port=settings.scylla_port,
                          execution_profiles=profiles, connect_timeout=request_timeout,
                          compression=settings.scylla_compression,
                          reconnection_policy=ExponentialReconnectionPolicy(0.25, 1.0))
        session = await asyncio.to_thread(cluster.connect, settings.scylla_keyspace)
        return cls(cluster, session, concurrency=concurrency, request_timeout=request_timeout)

    async def prepare(self, query: str) -> PreparedStatement:
        """Prepares once per process (preparing is a blocking round trip)."""
        statement = self._prepared.get(query)
        if statement is None:
            statement = await asyncio.to_thread(self._session.prepare, query)
            self._prepared[query] = statement
        return statement

    async def execute(self, statement: PreparedStatement | BatchStatement,
                      params: Params | None = None, *, serial: bool = False) -> list[Row]:
        """Runs one statement (every page of it) and returns its rows."""
        bound: Any = statement.bind(params or ()) if isinstance(statement, PreparedStatement) \
            else statement
        # Failures map by the shared policy: no node reachable is UNAVAILABLE,
        # a timeout DEADLINE_EXCEEDED (services/shared/resilience/failures.py).
        family = telemetry.statement_family(statement.query_string) \
            if isinstance(statement, PreparedStatement) else getattr(statement, "family", "BATCH")
        async with self._gate, guarded(self.breaker, "the database"):
            with telemetry.store_call("cassandra", family):
                return await self._run(bound, serial)

    async def _run(self, bound: Any, serial: bool) -> list[Row]:
        future = self._session.execute_async(
            bound, execution_profile=SERIAL if serial else EXEC_PROFILE_DEFAULT,
            timeout=deadline.bounded(self._timeout))
        return await _rows(future)

    async def ping(self) -> None:
        """One cheap query through the breaker (services/shared/resilience/health.py)."""
        await self.execute(await self.prepare("SELECT key FROM system.local"))

    def required(self) -> Required:
        return Required("the database", self.breaker, self.ping)

    async def execute_many(self, work: Iterable[tuple[PreparedStatement, Params]]) -> list[
            list[Row]]:
        """Runs statements concurrently (within the session's concurrency bound)."""
        return list(await asyncio.gather(*(self.execute(s, p) for s, p in work)))

    async def close(self) -> None:
        """Shuts the driver down (seconds on a busy machine) on a daemon thread
        of its own. A caller that stops waiting, as a worker's bounded stop
        does, leaves it to finish or to end with the process: on the loop's
        default executor (`to_thread`) it would hold the loop's shutdown, and
        so the process's exit, until it returned."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def shutdown() -> None:
            error: BaseException | None = None
            try:
                self._cluster.shutdown()
            except BaseException as exc:  # handed to the awaiting caller
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, done, error)

        threading.Thread(target=shutdown, name="cql-shutdown", daemon=True).start()
        await done


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the caller stopped waiting
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


class _Batch(BatchStatement):  # type: ignore[misc]  # the driver has no stubs
    family = "BATCH"  # for spans and metrics: named after its first statement


def batch(*statements: tuple[PreparedStatement, Params]) -> BatchStatement:
    """An unlogged batch: one round trip. Within one partition it applies all or
    none (with conditions, in one Paxos round); across partitions each partition's
    part is atomic but the parts are not, so callers keep those writes idempotent."""
    b = _Batch(batch_type=BatchType.UNLOGGED)
    if statements:
        b.family = "BATCH " + telemetry.statement_family(statements[0][0].query_string)
    for statement, params in statements:
        b.add(statement, params)
    return b


def applied(rows: list[Row]) -> bool:
    """Whether a lightweight transaction (or conditional batch) took effect."""
    return bool(rows and rows[0].get("[applied]", True))


async def _rows(future: ResponseFuture) -> list[Row]:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[Row]] = loop.create_future()
    pages: list[Row] = []

    def settle(result: list[Row] | BaseException) -> None:
        if done.done():
            return
        if isinstance(result, BaseException):
            done.set_exception(result)
        else:
            done.set_result(result)

    # Both callbacks run on a driver thread.
    def on_page(rows: list[Row] | None) -> None:
        pages.extend(rows or ())  # writes answer with no rows at all
        if future.has_more_pages:
            future.start_fetching_next_page()
        else:
            loop.call_soon_threadsafe(settle, pages)

    def on_error(exc: BaseException) -> None:
        loop.call_soon_threadsafe(settle, exc)

    future.add_callbacks(on_page, on_error)
    return await done
