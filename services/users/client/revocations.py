"""Revoked sessions, so that a logout (or a refresh token presented twice) ends
the session's access tokens at once rather than when they expire.

PostgreSQL (the users service's `sessions.revoked_at`) is the source of truth.
The users service announces each revocation on the Redis stream `auth:revoked`
(session id and the time after which no token of it can be valid anyway, i.e.
revocation + access-token lifetime + leeway), trimmed to that window. Every
service process keeps the revoked ids in memory, loaded from the stream at
start and then fed by a blocking XREAD: checking a token costs a dict lookup,
no round trip on the read path. A process that loses Redis keeps its set, and
reloads the stream once Redis answers again (nothing announced meanwhile is
lost: the stream keeps it). New revocations reach every process within
milliseconds; while Redis is down they wait (fail open: Redis being down
must not log everybody out), and the users service announces them again from
PostgreSQL once it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge

from services.shared.observability.logging import get_logger
from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient

log = get_logger(__name__)

STREAM = "auth:revoked"
# XREAD waits this long for news before asking again.
BLOCK_MS = 5_000

REVOKED_SESSIONS = Gauge("auth_revoked_sessions", "Revoked sessions still held in memory.")
FEED_UP = Gauge("auth_revocation_feed_up", "1 while the revocation stream is being followed.")


@dataclass(frozen=True)
class Revocation:
    session_id: int
    # Unix time after which no access token of the session is valid anyway.
    until: float


async def announce(redis: RedisClient, revocations: Iterable[Revocation], *,
                   window_seconds: float) -> None:
    """Appends revocations to the stream, trimming what no token outlives."""
    oldest_ms = int((time.time() - window_seconds) * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        for r in revocations:
            pipe.xadd(STREAM, {"sid": str(r.session_id), "until": f"{r.until:.3f}"},
                      minid=oldest_ms, approximate=True)
        await pipe.execute()


def _parse(fields: dict[bytes, bytes]) -> Revocation | None:
    try:
        return Revocation(int(fields[b"sid"]), float(fields[b"until"]))
    except (KeyError, ValueError):
        return None


class RevokedSessions:
    """The revoked session ids this process knows, fed by the stream."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._until: dict[int, float] = {}
        self._last_id = "0-0"
        self._listeners: list[Callable[[int], None]] = []
        self._purged_at = time.monotonic()

    @classmethod
    async def open(cls, redis_url: str) -> RevokedSessions:
        """Connected and loaded; a Redis that does not answer yet is retried by `run`."""
        # XREAD blocks: the socket must outwait it.
        revoked = cls(redis_client.connect(redis_url, socket_timeout=BLOCK_MS / 1000 + 5))
        try:
            await revoked.load()
        except redis_client.REDIS_ERRORS:
            log.warning("revoked sessions not loaded yet: Redis does not answer")
        return revoked

    def is_revoked(self, session_id: int) -> bool:
        until = self._until.get(session_id)
        return until is not None and until > time.time()

    def on_revoke(self, listener: Callable[[int], None]) -> None:
        """Calls `listener(session_id)` for each revocation that arrives (to end
        open streams of the session)."""
        self._listeners.append(listener)

    def _add(self, revocation: Revocation) -> None:
        if revocation.until <= time.time():
            return
        self._until[revocation.session_id] = max(revocation.until,
                                                 self._until.get(revocation.session_id, 0.0))
        for listener in self._listeners:
            try:
                listener(revocation.session_id)
            except Exception:
                log.exception("a revocation listener failed")

    def _take(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for entry_id, fields in entries:
            self._last_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            revocation = _parse(fields)
            if revocation is not None:
                self._add(revocation)
        REVOKED_SESSIONS.set(len(self._until))

    async def load(self) -> None:
        """Reads the whole stream (it holds only revocations still in force)."""
        entries: Any = await self._redis.xrange(STREAM)
        self._take(entries or [])

    async def run(self) -> None:
        """Follows the stream for as long as the process lives."""
        reload = False
        while True:
            try:
                if reload:
                    await self.load()
                    reload = False
                FEED_UP.set(1)
                answer: Any = await self._redis.xread({STREAM: self._last_id},
                                                      block=BLOCK_MS, count=1000)
                for _stream, entries in answer or []:
                    self._take(entries)
                self._purge()
            except redis_client.REDIS_ERRORS:
                FEED_UP.set(0)
                if not reload:
                    log.warning("revocation stream unreachable; retrying")
                reload = True
                await asyncio.sleep(1.0)

    def _purge(self, every_seconds: float = 60.0) -> None:
        if time.monotonic() - self._purged_at < every_seconds:
            return
        self._purged_at = time.monotonic()
        now = time.time()
        self._until = {sid: until for sid, until in self._until.items() if until > now}
        REVOKED_SESSIONS.set(len(self._until))

    async def close(self) -> None:
        await self._redis.aclose()
