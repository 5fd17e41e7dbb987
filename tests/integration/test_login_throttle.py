"""The failed-login throttle on the real PostgreSQL: one row per account, and
the retention job that deletes rows that no longer count (issue 22)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from psycopg_pool import AsyncConnectionPool
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.config import PostgresSettings
from services.users.login_throttle import FailurePurge
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
    key = f"user:{alice.user_id}"
    assert await _rows(pool, [key]) == {key: 3}
    await auth_stub.Login(users_pb2.LoginRequest(username=alice.email, password=PASSWORD))
    assert await _rows(pool, [key]) == {}  # a success clears the account's count
