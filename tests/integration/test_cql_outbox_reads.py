"""The Cassandra outbox relay's reads and writes against the real database: a
round reads the ripe slots of all its shards in one statement and moves their
checkpoints in one, and asking for other relays' shards costs a plain read,
not a Paxos round per shard (services/shared/messaging/cql_outbox.py).

The test works on shards of `tweets_outbox` far above the services' own (they
use 0..15), fresh for every run, so the running relays never see them."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from services.shared.messaging.cql_outbox import Intent, IntentLog, IntentRelay
from services.shared.snowflake.ids import min_id_at
from services.shared.stores.cassandra import Cql

SHARDS = 16
SLOT = 60
GRACE = 30.0


class ScratchLog(IntentLog):
    """The outbox's log on shards of its own: BASE .. BASE + SHARDS - 1."""

    base = 0

    def shard_of(self, op_id: int) -> int:
        return self.base + super().shard_of(op_id)


def statements(family: str) -> float:
    """Statements of this family the process sent so far (the store metric)."""
    return REGISTRY.get_sample_value("store_client_seconds_count", {
        "store": "cassandra", "family": family, "outcome": "ok"}) or 0.0


def op_at(moment: float, n: int) -> int:
    return min_id_at(datetime.fromtimestamp(moment, tz=UTC)) + n


async def scratch_log(cql: Cql) -> ScratchLog:
    log = await ScratchLog.open(cql, "tweets_outbox", shards=SHARDS, slot_seconds=SLOT)
    log.base = 1_000_000 + random.randrange(1 << 30)
    return log


async def test_a_round_reads_every_shards_ripe_slots_in_one_statement(cql: Cql) -> None:
    log = await scratch_log(cql)
    shards = range(log.base, log.base + SHARDS)
    resolved: list[Intent] = []

    async def resolve(intent: Intent) -> None:
        resolved.append(intent)
        await log.remove(intent.op_id)

    relay = IntentRelay(log, resolve, grace_seconds=GRACE)
    start = (int(time.time()) // SLOT + 5) * SLOT  # a slot boundary ahead: nothing there yet
    await relay.relay_once(shards, now=start)  # creates the checkpoints, reads the ripe slot
    created = {s: await log.checkpoint(s, default=-1, create=False) for s in shards}
    assert set(created.values()) == {int(start - GRACE) // SLOT}
    # Intents in the next two slots, spread over the shards (a crash left them).
    stranded = [op_at(start + offset, n) for offset in (1 - SLOT, 1) for n in range(48)]
    for op_id in stranded:
        await log.add(op_id, ref=op_id)
    assert len({log.shard_of(i) for i in stranded}) > SHARDS // 2

    reads = statements("SELECT tweets_outbox")
    moves = statements("BATCH UPDATE tweets_outbox_checkpoints")
    later = start + SLOT + GRACE  # both slots ripe: 16 shards x 2 slots to read
    assert await relay.relay_once(shards, now=later) == len(stranded)
    assert sorted(i.op_id for i in resolved) == sorted(stranded)
    assert all(i.ref == i.op_id for i in resolved)
    assert statements("SELECT tweets_outbox") - reads == 1
    assert statements("BATCH UPDATE tweets_outbox_checkpoints") - moves == 2  # 10 + 6 shards
    ripe = int(later - GRACE) // SLOT - 1
    for shard in shards:
        assert await log.checkpoint(shard, default=-1, create=False) == ripe + 1
        assert await log.scan(shard, log.slot_of(stranded[0])) == []


async def test_the_lease_rows_tell_which_shards_others_hold(cql: Cql) -> None:
    log = await scratch_log(cql)
    mine, theirs = log.base, log.base + 1
    assert await log.lease(theirs, "another-replica", 60)
    assert await log.lease(mine, "this-replica", 60)
    assert await log.holders([mine, theirs, log.base + 2]) == {
        mine: "this-replica", theirs: "another-replica"}
    await log.release(theirs, "another-replica")
    assert await log.holders([theirs]) == {}


async def test_finished_intents_are_deleted_ten_partitions_a_statement(cql: Cql) -> None:
    """Deleting each finished operation's intent by itself was a third of a
    create's statements; gathered, a burst costs a statement per ten partitions."""
    log = await scratch_log(cql)
    now = time.time()
    finished = [op_at(now + offset, n) for offset in (-SLOT, 0) for n in range(40)]
    for op_id in finished:
        await log.add(op_id, ref=op_id)
    partitions = {(log.shard_of(i), log.slot_of(i)) for i in finished}
    assert len(partitions) > 20

    deletes = statements("BATCH DELETE tweets_outbox")
    for op_id in finished:
        log.discard(op_id)
    await log.flush()  # a stopping process: now, not after the delay
    assert statements("BATCH DELETE tweets_outbox") - deletes == -(-len(partitions) // 10)
    for shard, slot in partitions:
        assert await log.scan(shard, slot) == []
