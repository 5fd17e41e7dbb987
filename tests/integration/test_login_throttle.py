"""The failed-login throttle on the real PostgreSQL: one row per account, and
the retention job that deletes rows that no longer count (issue 22); attempt
reservations under concurrency and the account-wide budget (issue 31)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from psycopg_pool import AsyncConnectionPool
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.config import PostgresSettings
from services.users import login_throttle
from services.users.login_throttle import FailurePurge, Slots, ThrottlePolicy
from tests.support.users import PASSWORD, MakeAccount

RESET_SECONDS = 3600.0


@pytest.fixture
async def pool(stack_env: dict[str, str]) -> AsyncIterator[AsyncConnectionPool]:
    pool = AsyncConnectionPool(PostgresSettings().pg_dsn.get_secret_value(), min_size=1,
                               max_size=2, open=False)
    await pool.open(wait=True)
    yield pool
    await pool.close()


async def _rows(pool: AsyncConnectionPool, keys: list[str]) -> dict[str, int]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT login, failures FROM login_failures"
                                 " WHERE login = ANY(%s)", (keys,))
        return {row[0]: row[1] for row in await cur.fetchall()}


async def test_stale_rows_are_purged_and_live_ones_kept(pool: AsyncConnectionPool) -> None:
    tag = uuid.uuid4().hex
    ages = {  # key: (minutes since the last failure, minutes the lock still runs)
        f"name:stale-{tag}": (120, None),
        f"name:lock-ran-out-{tag}": (90, -80),
        f"name:recent-{tag}": (5, None),
        f"name:locked-long-{tag}": (120, 30),  # a lock longer than the reset window
        **{f"name:batch{i}-{tag}": (61, None) for i in range(5)},
    }
    async with pool.connection() as conn, conn.transaction():
        for key, (age, lock) in ages.items():
            await conn.execute(
                "INSERT INTO login_failures (login, failures, last_failed_at, locked_until)"
                " VALUES (%s, 9, now() - make_interval(mins => %s),"
                " now() + make_interval(mins => %s))", (key, age, lock))
    deleted = await FailurePurge(pool, reset_seconds=RESET_SECONDS, batch=2).purge_once()
    assert deleted >= 7  # with other tests' stale rows, if any
    assert set(await _rows(pool, list(ages))) == {f"name:recent-{tag}",
                                                   f"name:locked-long-{tag}"}


async def test_failures_count_once_per_account(
        make_account: MakeAccount, auth_stub: users_pb2_grpc.AuthServiceAsyncStub,
        pool: AsyncConnectionPool) -> None:
    alice = await make_account()
    for name in (alice.username, alice.email.upper(), f" {alice.username.upper()} "):
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await auth_stub.Login(users_pb2.LoginRequest(username=name, password="wrong!"))
        assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # counted for the source (a call not through the edge: "direct") and the account
    source, account = f"user:{alice.user_id}@direct", f"user:{alice.user_id}"
    assert await _rows(pool, [source, account]) == {source: 3, account: 3}
    await auth_stub.Login(users_pb2.LoginRequest(username=alice.email, password=PASSWORD))
    # a success clears the source's count; the account's runs out only with time
    assert await _rows(pool, [source, account]) == {account: 3}


POLICY = ThrottlePolicy(free_attempts=3, account_free_attempts=7, lock_base_seconds=30.0,
                        lock_max_seconds=900.0, failure_reset_seconds=RESET_SECONDS)


async def _attempt(pool: AsyncConnectionPool, slots: Slots) -> bool:
    """One wrong password: False when the throttle refused it, else counted."""
    try:
        await login_throttle.reserve(pool, slots, POLICY)
    except login_throttle.Refused:
        return False
    async with pool.connection() as conn, conn.transaction():
        await login_throttle.record_failure(conn, slots, POLICY)
    return True


async def test_concurrent_attempts_get_only_the_budget(pool: AsyncConnectionPool) -> None:
    slots = Slots.of(f"name:race-{uuid.uuid4().hex}", "192.0.2.1", POLICY)
    assert sum(await asyncio.gather(*(_attempt(pool, slots) for _ in range(30)))) == 3
    with pytest.raises(login_throttle.Refused) as refused:
        await login_throttle.reserve(pool, slots, POLICY)
    assert refused.value.locked_until is not None


async def test_many_sources_spend_the_account_budget(pool: AsyncConnectionPool) -> None:
    key = f"name:spread-{uuid.uuid4().hex}"
    counted = await asyncio.gather(*(_attempt(pool, Slots.of(key, f"192.0.2.{i}", POLICY))
                                     for i in range(1, 6) for _ in range(3)))
    assert sum(counted) == 7  # 15 tried from 5 addresses, the account's 7 counted
    # now every source is refused, a fresh one too
    with pytest.raises(login_throttle.Refused):
        await login_throttle.reserve(pool, Slots.of(key, "198.51.100.9", POLICY), POLICY)
    assert (await _rows(pool, [key]))[key] == 7


async def test_a_dead_attempts_slot_stops_counting(pool: AsyncConnectionPool) -> None:
    slots = Slots.of(f"name:dead-{uuid.uuid4().hex}", "192.0.2.1", POLICY)
    for _ in range(3):  # three attempts whose process died before they ended
        await login_throttle.reserve(pool, slots, POLICY)
    with pytest.raises(login_throttle.Refused):
        await login_throttle.reserve(pool, slots, POLICY)
    async with pool.connection() as conn:
        await conn.execute("UPDATE login_failures SET reserved_at = now() - interval '2 min'"
                           " WHERE login = ANY(%s)", ([k for k, _ in slots.keys],))
    await login_throttle.reserve(pool, slots, POLICY)  # the stale slots are free again
