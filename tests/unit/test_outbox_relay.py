"""The Cassandra outbox relay (services/shared/messaging/cql_outbox.py IntentRelay) over
an in-memory intent log: what it resolves, when, how its checkpoints move and
how replicas share shards."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from services.shared.messaging.cql_outbox import SCAN_PARTITIONS, Intent, IntentRelay
from services.shared.snowflake.ids import id_time, min_id_at
from tests.fakes.intents import FakeIntentLog

SLOT = 60
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()  # a slot boundary


def op_at(seconds: float, n: int = 0) -> int:
    """An operation id issued `seconds` after T0 (n tells ids of one ms apart)."""
    return min_id_at(datetime.fromtimestamp(T0 + seconds, tz=UTC)) + n


class Resolver:
    def __init__(self, log: FakeIntentLog, *, failing: set[int] | None = None) -> None:
        self.log = log
        self.failing = failing or set()
        self.resolved: list[int] = []

    async def __call__(self, intent: Intent) -> None:
        if intent.op_id in self.failing:
            raise ConnectionError("NATS is down")
        self.resolved.append(intent.op_id)
        await self.log.remove(intent.op_id)


def relay_of(log: FakeIntentLog, resolver: Resolver) -> IntentRelay:
    return IntentRelay(log, resolver, grace_seconds=30)


async def started(log: FakeIntentLog, shard: int, at: float) -> None:
    """The shard's checkpoint as a relay running since `at` would have made it."""
    await log.checkpoint(shard, int(at - 30) // SLOT - 1)


def test_ids_spread_over_shards_and_fall_in_their_times_slot() -> None:
    log = FakeIntentLog(shards=16, slot_seconds=SLOT)
    same_ms = [op_at(5, n) for n in range(64)]
    assert len({log.shard_of(i) for i in same_ms}) > 8  # not all on one shard
    assert all(0 <= log.shard_of(i) < 16 for i in same_ms)
    assert log.slot_of(op_at(0)) == int(T0) // SLOT
    assert log.slot_of(op_at(59.999)) == int(T0) // SLOT
    assert log.slot_of(op_at(60)) == int(T0) // SLOT + 1
    assert id_time(op_at(7)).timestamp() == pytest.approx(T0 + 7)


async def test_only_intents_past_the_grace_are_resolved_and_each_once() -> None:
    log = FakeIntentLog(shards=1, slot_seconds=SLOT)
    await started(log, 0, T0)
    old, fresh = op_at(10), op_at(170)
    await log.add(old, 1)
    await log.add(fresh, 2)
    resolver = Resolver(log)
    relay = relay_of(log, resolver)
    # At T0+100 slot T0 has aged past the grace plus a whole slot: it is ripe.
    assert await relay.relay_once([0], now=T0 + 150) == 1
    assert resolver.resolved == [old]
    assert await relay.relay_once([0], now=T0 + 150) == 0  # nothing twice
    assert [i.op_id for i in log.intents()] == [fresh]
    assert await relay.relay_once([0], now=T0 + 300) == 1
    assert resolver.resolved == [old, fresh]


async def test_the_checkpoint_moves_past_resolved_and_empty_slots_so_each_is_read_once(
        ) -> None:
    log = FakeIntentLog(shards=1, slot_seconds=SLOT)
    await started(log, 0, T0)
    await log.add(op_at(10), 1)
    await log.add(op_at(200), 2)
    relay = relay_of(log, Resolver(log))
    start = log.checkpoints[0]
    await relay.relay_once([0], now=T0 + 600)
    first = list(log.scanned)
    ripe = int(T0 + 600 - 30) // SLOT - 1
    assert first == [(0, slot) for slot in range(start, ripe + 1)]
    assert log.checkpoints[0] == first[-1][1] + 1
    log.scanned.clear()
    await relay.relay_once([0], now=T0 + 600)
    assert log.scanned == []  # no new ripe slot: nothing read again


async def test_a_failed_resolution_holds_the_checkpoint_and_is_retried() -> None:
    log = FakeIntentLog(shards=1, slot_seconds=SLOT)
    await started(log, 0, T0)
    stuck, later = op_at(10), op_at(130)
    await log.add(stuck, 1)
    await log.add(later, 2)
    resolver = Resolver(log, failing={stuck})
    relay = relay_of(log, resolver)
    assert await relay.relay_once([0], now=T0 + 600) == 1
    assert resolver.resolved == [later]  # later slots still go on
    assert log.checkpoints[0] == log.slot_of(stuck)  # but not past the stuck one
    resolver.failing.clear()
    assert await relay.relay_once([0], now=T0 + 600) == 1
    assert resolver.resolved == [later, stuck]
    assert log.checkpoints[0] > log.slot_of(later)


async def test_a_round_reads_at_most_its_slot_budget() -> None:
    log = FakeIntentLog(shards=1, slot_seconds=SLOT)
    await started(log, 0, T0)
    relay = IntentRelay(log, Resolver(log), grace_seconds=30, max_slots_per_round=5)
    await relay.relay_once([0], now=T0 + 3600)
    assert len(log.scanned) == 5
    await relay.relay_once([0], now=T0 + 3600)
    assert len(log.scanned) == 10
    assert len(set(log.scanned)) == 10  # the next round takes the next slots


async def test_a_sweep_without_advance_moves_no_shared_checkpoint() -> None:
    log = FakeIntentLog(shards=2, slot_seconds=SLOT)
    await started(log, 0, T0)
    await log.add(op_at(10), 1)
    before = dict(log.checkpoints)
    resolver = Resolver(log)
    relay = relay_of(log, resolver)
    await relay.relay_once(range(2), now=T0 + 600, advance=False)
    assert log.checkpoints == before  # not moved, and shard 1's not created
    assert len(resolver.resolved) == (1 if log.shard_of(op_at(10)) == 0 else 0)


async def test_a_new_shard_starts_at_the_present() -> None:
    log = FakeIntentLog(shards=1, slot_seconds=SLOT)
    await log.add(op_at(10), 1)  # written before any relay ran: not this relay's to read
    resolver = Resolver(log)
    relay = relay_of(log, resolver)
    assert await relay.relay_once([0], now=T0 + 3600) == 0
    assert log.checkpoints[0] == int(T0 + 3600 - 30) // SLOT - 1 + 1


async def test_shards_are_split_between_relays_by_lease_and_released_on_stop() -> None:
    now = [0.0]
    log = FakeIntentLog(shards=4, slot_seconds=SLOT, clock=lambda: now[0])
    mine = IntentRelay(log, Resolver(log), grace_seconds=30, poll_seconds=0.001)
    task = asyncio.create_task(mine.run())
    while log.lease_calls < log.shards:  # its first round asks for every shard
        await log.lease_called.wait()
        log.lease_called.clear()
    owners = {owner for owner, _ in log.leases.values()}
    assert len(log.leases) == 4
    assert len(owners) == 1
    other = "another-replica"
    assert not await log.lease(0, other, 10)  # held: the other replica waits
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log.leases == {}  # released on stop
    assert await log.lease(0, other, 10)


# Idle cost: leases and checkpoints held in memory -------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def held_relay(log: FakeIntentLog, resolver: Resolver, clock: Clock) -> IntentRelay:
    return IntentRelay(log, resolver, grace_seconds=30, poll_seconds=5, clock=clock)


async def test_an_idle_round_reads_nothing_until_a_slot_ripens() -> None:
    clock = Clock()
    log = FakeIntentLog(shards=4, slot_seconds=SLOT, clock=clock)
    for shard in range(4):
        await started(log, shard, T0)
    relay = held_relay(log, Resolver(log), clock)
    shards = await relay.hold_leases()
    await relay.relay_once(shards, now=T0 + 100)
    reads, scanned = log.checkpoint_reads, list(log.scanned)
    for seconds in (105, 110, 115):  # the same ripe slot: no query at all
        await relay.relay_once(await relay.hold_leases(), now=T0 + seconds)
    assert (log.checkpoint_reads, log.scanned) == (reads, scanned)
    await relay.relay_once(await relay.hold_leases(), now=T0 + 150)  # the next slot ripens
    assert log.checkpoint_reads == reads  # from memory
    assert log.scanned[len(scanned):] == [(s, int(T0 + 150 - 30) // SLOT - 1) for s in range(4)]


async def test_an_intent_left_by_a_crash_is_resolved_once_its_slot_ripens() -> None:
    clock = Clock()
    log = FakeIntentLog(shards=1, slot_seconds=SLOT, clock=clock)
    await started(log, 0, T0)
    resolver = Resolver(log)
    relay = held_relay(log, resolver, clock)
    await relay.relay_once(await relay.hold_leases(), now=T0 + 100)
    stranded = op_at(130)  # written, never published: the process died
    await log.add(stranded, 1)
    await relay.relay_once(await relay.hold_leases(), now=T0 + 160)
    assert resolver.resolved == []  # within its grace
    await relay.relay_once(await relay.hold_leases(), now=T0 + 210)
    assert resolver.resolved == [stranded]


async def test_held_leases_are_renewed_a_third_of_the_ttl_apart_and_others_asked_for_seldom(
        ) -> None:
    clock = Clock()
    log = FakeIntentLog(shards=4, slot_seconds=SLOT, clock=clock)
    other = "another-replica"
    assert await log.lease(3, other, 45)  # held elsewhere until 45 s
    log.lease_calls = 0
    relay = held_relay(log, Resolver(log), clock)  # a lease of 60 s
    assert await relay.hold_leases() == {0, 1, 2}
    # Shard 3's row says it is held: no Paxos round is spent asking for it.
    assert (log.lease_calls, log.renew_calls) == (3, 0)
    clock.now = 19.0
    assert await relay.hold_leases() == {0, 1, 2}
    assert (log.lease_calls, log.renew_calls) == (3, 0)  # nothing due yet
    clock.now = 20.0
    assert await relay.hold_leases() == {0, 1, 2}
    assert (log.lease_calls, log.renew_calls) == (3, 3)  # renewed, shard 3 not asked again
    clock.now = 30.0
    assert await relay.hold_leases() == {0, 1, 2}
    assert log.lease_calls == 3  # half the TTL on, shard 3 still held: not asked for
    clock.now = 60.0  # the other replica's lease lapsed at 45 s
    assert await relay.hold_leases() == {0, 1, 2, 3}
    assert log.lease_calls == 4


async def test_a_round_reads_every_shards_ripe_slots_together_and_moves_them_in_one_write(
        ) -> None:
    clock = Clock()
    log = FakeIntentLog(shards=16, slot_seconds=SLOT, clock=clock)
    for shard in range(16):
        await started(log, shard, T0)
    resolver = Resolver(log)
    relay = held_relay(log, resolver, clock)
    shards = await relay.hold_leases()
    await relay.relay_once(shards, now=T0 + 100)
    stranded = [op_at(130, n) for n in range(40)]  # spread over the shards
    for op_id in stranded:
        await log.add(op_id, 1)
    log.reads.clear()
    await relay.relay_once(await relay.hold_leases(), now=T0 + 210)
    assert log.reads == [32]  # 16 shards' two newly ripe slots: one read
    assert sorted(resolver.resolved) == sorted(stranded)
    ripe = int(T0 + 210 - 30) // SLOT - 1
    assert log.checkpoints == {s: ripe + 1 for s in range(16)}


async def test_a_backlog_is_read_a_bounded_number_of_partitions_at_a_time_oldest_first(
        ) -> None:
    log = FakeIntentLog(shards=4, slot_seconds=SLOT)
    for shard in range(4):
        await started(log, shard, T0)
    relay = IntentRelay(log, Resolver(log), grace_seconds=30, max_slots_per_round=20)
    await relay.relay_once(range(4), now=T0 + 3600)
    assert len(log.scanned) == 4 * 20
    assert max(log.reads) <= SCAN_PARTITIONS
    assert len(log.reads) == 4  # a shard's 20 slots a read, not one read per slot
    for shard in range(4):
        slots = [slot for s, slot in log.scanned if s == shard]
        assert slots == sorted(slots)
        assert len(set(slots)) == 20


async def test_a_lost_lease_drops_the_shards_checkpoint_from_memory() -> None:
    clock = Clock()
    log = FakeIntentLog(shards=1, slot_seconds=SLOT, clock=clock)
    await started(log, 0, T0)
    relay = held_relay(log, Resolver(log), clock)
    await relay.relay_once(await relay.hold_leases(), now=T0 + 100)
    # Stalled past its lease: another relay takes the shard and moves on.
    clock.now = 61.0
    assert await log.lease(0, "another-replica", 60)
    await log.advance(0, log.checkpoints[0] + 5)
    assert await relay.hold_leases() == set()
    reads = log.checkpoint_reads
    del log.leases[0]  # the other relay stops
    clock.now = 95.0  # asked for again half the TTL after the last time (at 61)
    shards = await relay.hold_leases()
    assert shards == {0}
    log.scanned.clear()
    await relay.relay_once(shards, now=T0 + 100 + 6 * SLOT)
    assert log.checkpoint_reads == reads + 1  # read again, not taken from memory
    assert log.scanned[0] == (0, int(T0 + 100 - 30) // SLOT - 1 + 1 + 5)
