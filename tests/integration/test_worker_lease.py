"""Snowflake worker id leases against the stack's real Cassandra and PostgreSQL:
racing OS processes never hold one worker id at once, an unrenewed or lost
lease stops the generator, renewals keep the id, and release frees it."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest

from services.shared.config import PostgresSettings, ScyllaSettings, WorkerLeaseSettings
from services.shared.errors import Unavailable
from services.shared.snowflake.ids import IdGenerator, worker_of
from services.shared.snowflake.worker_lease import LeaseStore, WorkerLease, new_owner
from services.shared.stores.cassandra import Cql
from stack import topology
from tests.support.lease_racer import lease_store
from tests.support.users import MakeAccount
from tests.support.wait import eventually

STORES = ["cql", "pg"]
RACERS, LEASES_EACH, ROUNDS = 2, 50, 3


def fresh_namespace() -> str:
    """An id space of its own, so tests neither meet each other nor the services."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=STORES)
async def store(request: pytest.FixtureRequest, stack_env: dict[str, str]
                ) -> AsyncIterator[LeaseStore]:
    async with lease_store(request.param, fresh_namespace()) as opened:
        yield opened


@pytest.mark.parametrize("kind", STORES)
async def test_processes_racing_for_ids_never_hold_the_same_one(
        kind: str, stack_env: dict[str, str]) -> None:
    namespace = fresh_namespace()
    racers = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.lease_racer", kind, namespace,
        str(LEASES_EACH), cwd=topology.REPO, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE) for _ in range(RACERS)]

    async def tell(word: str) -> list[bytes]:
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.write(f"{word}\n".encode())
            await racer.stdin.drain()
        return [await asyncio.wait_for(r.stdout.readline(), 120) for r in racers
                if r.stdout is not None]

    try:
        async with lease_store(kind, namespace) as intruder:
            for _ in range(ROUNDS):
                answers = await tell("go")  # both processes start taking at once
                held = [w for answer in answers for w in json.loads(answer)]
                assert len(held) == RACERS * LEASES_EACH
                assert len(set(held)) == len(held), "two leases hold one worker id"
                # The store agrees: every one of them is held by someone.
                owner = new_owner()
                assert not any(await asyncio.gather(
                    *(intruder.take(w, owner, 30) for w in held)))
                assert await tell("release") == [b"released\n"] * RACERS
            # Released ids are free at once.
            assert await intruder.take(held[0], new_owner(), 30)
    finally:
        for racer in racers:
            if racer.stdin is not None:
                racer.stdin.close()
        for racer in racers:
            try:
                await asyncio.wait_for(racer.wait(), 30)
            except TimeoutError:
                racer.kill()
                await racer.wait()
    assert [r.returncode for r in racers] == [0] * RACERS


async def test_an_unrenewed_lease_stops_issuing_before_anyone_can_take_its_id(
        store: LeaseStore) -> None:
    lease = WorkerLease(store, ttl_seconds=3, margin_seconds=1.5)
    worker = await lease.acquire()
    ids = IdGenerator(lease)
    assert worker_of(ids.next_id()) == worker

    grant = lease.grant()
    assert grant is not None
    # Letting the grant run out unrenewed is the behaviour under test.
    await asyncio.sleep(grant.deadline - time.monotonic() + 0.05)
    assert not lease.valid()
    with pytest.raises(Unavailable, match="no valid worker id lease"):
        ids.next_id()
    # The store still holds it for the rest of the TTL: nobody else has it yet.
    assert not await store.take(worker, new_owner(), 3)


async def test_a_lease_taken_over_after_expiry_is_dropped_for_a_new_id(
        store: LeaseStore) -> None:
    lease = WorkerLease(store, ttl_seconds=2, margin_seconds=1)
    old = await lease.acquire()
    ids = IdGenerator(lease)
    # Unrenewed (a stalled process), it expires; another process takes the id.
    thief = new_owner()

    async def stolen() -> bool:
        return await store.take(old, thief, 30)
    await eventually(stolen, within=10, every=0.2, what="the lease expiring in the store")
    with pytest.raises(Unavailable):
        ids.next_id()

    new = await lease.renew()  # finds the lease lost and takes another id
    assert new != old
    assert lease.worker_id == new
    assert lease.valid()
    assert worker_of(ids.next_id()) == lease.worker_id
    assert not await store.renew(old, lease.owner, 2)  # the thief keeps it
    assert await store.renew(old, thief, 2)
    await lease.stop()


async def test_a_lease_lost_while_locally_valid_is_never_used_again(
        store: LeaseStore) -> None:
    lease = WorkerLease(store)
    old = await lease.acquire()
    ids = IdGenerator(lease)
    before = ids.next_id()
    # Someone removes it behind the holder's back (an operator, a restored
    # backup) and another process takes it.
    await store.release(old, lease.owner)
    assert await store.take(old, new_owner(), 30)
    assert lease.valid()  # the holder cannot know before it renews

    new = await lease.renew()
    assert new != old
    assert lease.worker_id == new
    after = [ids.next_id() for _ in range(1000)]
    assert {worker_of(i) for i in after} == {new}
    assert after == sorted(after)
    assert after[0] > before
    await lease.stop()


async def test_renewal_keeps_the_worker_id_and_stop_releases_it(store: LeaseStore) -> None:
    lease = await WorkerLease.start(store, WorkerLeaseSettings(
        worker_lease_ttl_seconds=3, worker_lease_margin_seconds=1))  # renewed every second
    worker, first = lease.worker_id, lease.grant()
    assert worker is not None
    assert first is not None
    ids = IdGenerator(lease)

    # Time passing is the behaviour under test: the lease must outlive its TTL.
    await asyncio.sleep(4.5)  # one and a half TTLs
    grant = lease.grant()
    assert lease.worker_id == worker
    assert lease.valid()
    assert grant is not None
    assert grant.deadline > first.deadline + 2
    assert worker_of(ids.next_id()) == worker
    assert not await store.take(worker, new_owner(), 3)

    await lease.stop()
    assert not lease.valid()
    assert lease.worker_id is None
    with pytest.raises(Unavailable):
        ids.next_id()
    assert await store.take(worker, new_owner(), 3)  # free at once


async def test_the_services_hold_leases_and_issue_ids_under_them(
        make_account: MakeAccount, stack_env: dict[str, str]) -> None:
    account = await make_account("wl")
    dsn = PostgresSettings().pg_dsn.get_secret_value()
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT worker_id FROM worker_leases"
                                 " WHERE namespace = 'users' AND expires_at > now()")
        assert worker_of(account.user_id) in {row[0] for row in await cur.fetchall()}

    cql = await Cql.connect(ScyllaSettings())
    try:
        rows = await cql.execute(await cql.prepare("SELECT namespace, worker_id, owner"
                                                   " FROM worker_leases"))
    finally:
        await cql.close()
    tweets = {r["owner"].split(":")[1] for r in rows if r["namespace"] == "tweets"}
    # One lease per tweets process (each a pid of its own), and messages too
    # (media ids are random, so media holds none).
    assert len(tweets) >= topology.load().processes["tweets"]
    assert "messages" in {r["namespace"] for r in rows}
