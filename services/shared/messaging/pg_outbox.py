"""Transactional outbox on PostgreSQL.

A service writes its events into the `outbox` table in the same transaction as
the change they describe; a relay publishes them to JetStream and deletes them
only after the stream acknowledged. A crash between the write and the publish
loses nothing (the row stays), and a crash between publish and delete only
republishes, which JetStream's message-id de-duplication and idempotent
consumers absorb.
"""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
from nats.js import JetStreamContext
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from services.shared.messaging import outbox_metrics
from services.shared.messaging.events import Event, publish
from services.shared.observability.logging import get_logger

log = get_logger(__name__)

CHANNEL = "outbox"
BATCH = 200


async def enqueue(cur: psycopg.AsyncCursor[object], events: list[Event]) -> None:
    """Adds events to the outbox inside the caller's transaction."""
    if not events:
        return
    await cur.executemany(
        "INSERT INTO outbox (event_id, subject, type_name, payload, headers)"
        " VALUES (%s, %s, %s, %s, %s)",
        [(e.event_id, e.subject, e.type_name, e.payload, Jsonb(dict(e.trace_headers)))
         for e in events],
    )
    await cur.execute("SELECT pg_notify(%s, '')", (CHANNEL,))


class OutboxRelay:
    """Moves outbox rows to JetStream; several replicas may run (SKIP LOCKED)."""

    def __init__(self, pool: AsyncConnectionPool, js: JetStreamContext, dsn: str,
                 *, poll_seconds: float = 1.0) -> None:
        self._pool = pool
        self._js = js
        self._dsn = dsn
        self._poll = poll_seconds
        self._wake = asyncio.Event()

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen())
        try:
            while True:
                try:
                    while await self.relay_batch() == BATCH:
                        pass
                except Exception:
                    log.exception("outbox relay failed; will retry")
                    await asyncio.sleep(self._poll)
                with contextlib.suppress(Exception):  # PostgreSQL down: the relay says so
                    await self._measure()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
                self._wake.clear()
        finally:
            listener.cancel()

    async def relay_batch(self) -> int:
        """Publishes one batch; returns how many rows were relayed."""
        async with self._pool.connection() as conn, conn.transaction():
            rows = await (await conn.execute(
                "SELECT id, event_id, subject, type_name, payload, headers FROM outbox"
                " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", (BATCH,),
            )).fetchall()
            done = []
            for row_id, event_id, subject, type_name, payload, headers in rows:
                await publish(self._js, Event(subject, event_id, bytes(payload), type_name,
                                              headers or {}))
                done.append(row_id)
            if done:
                await conn.execute("DELETE FROM outbox WHERE id = ANY(%s)", (done,))
                outbox_metrics.RELAYED.labels("users", "relayed").inc(len(done))
            return len(done)

    async def _measure(self) -> None:
        """The rows still waiting (a backlog grows while NATS is down)."""
        async with self._pool.connection() as conn:
            row = await (await conn.execute("SELECT count(*) FROM outbox")).fetchone()
        outbox_metrics.BACKLOG.labels("users").set(row[0] if row else 0)

    async def _listen(self) -> None:
        """Wakes the relay on NOTIFY so events go out within milliseconds."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self._dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError):
                await asyncio.sleep(self._poll)
