"""Issue 22 (data side) on the real stores, where the edge cannot reach:
session retention, and the life of live streams (their lifetime, their end
when the session is revoked, the per-user cap across processes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import AsyncConnectionPool

from services.shared.errors import ResourceExhausted, Unauthenticated
from services.shared.messaging import events as jetstream
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient
from services.shared.stores import redis_client
from services.shared.streaming.live_streams import StreamSlots
from services.timeline.live import SLOTS_PREFIX, LiveHub, StreamLimits
from services.users.retention import Retention
from tests.support.users import MakeAccount

NOW = datetime.now(UTC)


@pytest.fixture
async def pool(stack_env: dict[str, str]) -> AsyncIterator[AsyncConnectionPool]:
    async with AsyncConnectionPool(stack_env["PG_DSN"], min_size=1, max_size=2) as p:
        yield p


async def _session(pool: AsyncConnectionPool, session_id: int, user_id: int, *,
                   expires_at: datetime, revoked_at: datetime | None = None,
                   tokens: list[datetime]) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO sessions (session_id, user_id, expires_at, revoked_at,"
            " revocation_announced) VALUES (%s, %s, %s, %s, %s)",
            (session_id, user_id, expires_at, revoked_at, revoked_at is not None))
        for n, expiry in enumerate(tokens):
            await conn.execute(
                "INSERT INTO refresh_tokens (token_hash, session_id, expires_at)"
                " VALUES (%s, %s, %s)", (f"{session_id}:{n}".encode(), session_id, expiry))


async def _left(pool: AsyncConnectionPool, ids: list[int]) -> tuple[set[int], dict[int, int]]:
    async with pool.connection() as conn:
        sessions = {r[0] for r in await (await conn.execute(
            "SELECT session_id FROM sessions WHERE session_id = ANY(%s)", (ids,))).fetchall()}
        tokens: dict[int, int] = dict(await (await conn.execute(
            "SELECT session_id, count(*) FROM refresh_tokens WHERE session_id = ANY(%s)"
            " GROUP BY session_id", (ids,))).fetchall())
    return sessions, tokens


async def test_expired_and_long_revoked_sessions_are_purged(
        pool: AsyncConnectionPool, make_account: MakeAccount) -> None:
    user = (await make_account("rt")).user_id
    base = int(time.time() * 1000) << 22  # ids no login issues (those come from the lease)
    expired, revoked_long_ago, revoked_now, live = (base + n for n in range(4))
    day = timedelta(days=1)
    await _session(pool, expired, user, expires_at=NOW - day, tokens=[NOW - 2 * day, NOW - day])
    await _session(pool, revoked_long_ago, user, expires_at=NOW + 9 * day,
                   revoked_at=NOW - 2 * day, tokens=[NOW + 9 * day])
    await _session(pool, revoked_now, user, expires_at=NOW + 9 * day,
                   revoked_at=NOW - timedelta(minutes=1), tokens=[NOW + 9 * day])
    await _session(pool, live, user, expires_at=NOW + 9 * day,
                   tokens=[NOW - day, NOW + 9 * day])  # a used, expired token and its successor

    purged = await Retention(pool, revoked_grace=day, batch=2).purge_once()
    assert purged.sessions >= 2
    assert purged.refresh_tokens >= 3

    ids = [expired, revoked_long_ago, revoked_now, live]
    sessions, tokens = await _left(pool, ids)
    assert sessions == {revoked_now, live}
    assert tokens == {revoked_now: 1, live: 1}


# Live streams ---------------------------------------------------------------------------

@pytest.fixture
async def hubs(stack_env: dict[str, str]) -> AsyncIterator[tuple[LiveHub, LiveHub]]:
    """Two timeline "processes" on the real NATS and Redis, with short limits."""
    nc, _ = await jetstream.connect(stack_env["NATS_URL"], name="live-test")
    redis = redis_client.connect(stack_env["REDIS_URL"])
    channel = internal_channel(stack_env["TWEETS_ADDR"], stack_env["INTERNAL_TOKEN"])
    limits = StreamLimits(per_user=2, max_seconds=1.0)

    def hub() -> LiveHub:
        return LiveHub(nc, TweetsClient(channel), heartbeat_seconds=0.2,
                       slots=StreamSlots(redis, per_user=2, lease_seconds=5,
                                        prefix=SLOTS_PREFIX), limits=limits)

    yield hub(), hub()
    await channel.close()
    await redis.aclose()
    await nc.close()


async def test_a_stream_ends_after_its_lifetime(hubs: tuple[LiveHub, LiveHub]) -> None:
    hub, _ = hubs
    stream = await hub.open(int(time.time() * 1000), None, set())
    started, heartbeats = time.monotonic(), 0
    try:
        async with asyncio.timeout(3):
            async for item in stream:
                assert item is None
                heartbeats += 1
    finally:
        await stream.close()
    assert 0.9 < time.monotonic() - started < 2
    assert heartbeats >= 3


async def test_revoking_the_session_ends_its_streams(hubs: tuple[LiveHub, LiveHub]) -> None:
    hub, _ = hubs
    user = int(time.time() * 1000) + 1
    mine, other = await hub.open(user, 77, set()), await hub.open(user, 78, set())
    try:
        hub.end_session(77)

        async def drain() -> None:
            async with asyncio.timeout(0.5):
                async for _ in mine:
                    pass
        with pytest.raises(Unauthenticated):
            await drain()
        async for item in other:  # the other session's stream goes on
            assert item is None
            break
    finally:
        await mine.close()
        await other.close()


async def test_the_cap_holds_across_processes(hubs: tuple[LiveHub, LiveHub]) -> None:
    first, second = hubs
    user = int(time.time() * 1000) + 2
    a = await first.open(user, None, set())
    b = await second.open(user, None, set())
    with pytest.raises(ResourceExhausted):
        await first.open(user, None, set())
    with pytest.raises(ResourceExhausted):
        await second.open(user, None, set())
    await a.close()
    c = await second.open(user, None, set())  # a slot freed in one process serves another
    await b.close()
    await c.close()
