"""Outbox intents on ScyllaDB/Cassandra, and the relay that resolves stragglers.

Cassandra has no multi-partition transactions, so a service cannot write "the
change and its event" atomically the way pg_outbox does. The pattern here:

1. Before a change, the service writes an *intent* row: (operation id, the
   partition the change will touch). It costs one plain write.
2. The change itself is one lightweight transaction on that partition, and it
   stores the operation's events (and what else must follow) in the same
   partition, under the operation id, in the same Paxos round.
3. On success the service runs the follow-ups, publishes, and deletes the intent
   (deletes are gathered for half a second and sent ten partitions a statement).

An intent may carry a redo record instead: the relay then applies the operation
again rather than fencing it (for operations made of idempotent writes).

If the process dies or NATS fails anywhere after step 1, the intent stays. The
relay picks up intents older than a grace period and *resolves* them through a
callback the service provides; the tweets service's callback first writes a
fence with the operation id (INSERT ... IF NOT EXISTS in the same partition), so
either the change committed before the fence (its events are there: publish
them) or it never will (the fence makes its conditional write fail). Only then
is the intent deleted. Publishing twice is harmless: the event id is the
JetStream message id and consumers are idempotent.

Layout: intents live in partitions keyed by (shard, slot), a slot being a few
seconds to a minute of operation time. A slot is read once it has aged past the
grace period, and a per-shard checkpoint moves past slots that are empty, so a
partition is read about once, never becoming the tombstone-laden queue that a
single outbox partition would. Shards are leased (a row with a TTL, taken with
IF NOT EXISTS) so several replicas split the work; a shard whose lease lapses
is picked up by another replica. The number of shards may grow but must not
shrink (intents in dropped shards would never be read).

A round reads the ripe slots of all its shards together (IN on both key
columns, up to SCAN_PARTITIONS partitions a read) and moves their checkpoints
in one batch: a statement costs the database about the same whether it names
one partition or thirty, and with short slots (the local stack's poll ends)
one read per shard and slot was most of an idle stack's database load.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Self

from cassandra.query import PreparedStatement

from services.shared.messaging import outbox_metrics
from services.shared.observability.logging import get_logger
from services.shared.snowflake.ids import id_time
from services.shared.stores.cassandra import Cql, applied, batch

log = get_logger(__name__)

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,40}")
# How long finished intents wait to be deleted together. The relay leaves
# intents alone for its grace period (seconds), so a late delete costs nothing,
# while gathering them makes the delete ~one statement for a whole burst of
# operations instead of one each (it was a third of a create's statements).
DISCARD_DELAY_SECONDS = 0.5
# (shard, slot) partitions one relay read names: few enough that a backlog
# read at once stays small, enough for every shard's newly ripe slot.
SCAN_PARTITIONS = 32
# Partitions one batch of checkpoint moves names: Cassandra warns (in its log
# and to the client) about an unlogged batch over more than 10
# (unlogged_batch_across_partitions_warn_threshold).
BATCH_PARTITIONS = 10
Part = tuple[int, int]  # (shard, slot)


@dataclass(frozen=True)
class Intent:
    op_id: int
    ref: int  # the partition key the operation changes
    op: str | None = None  # a redo record, for operations the relay applies again

    @property
    def age_seconds(self) -> float:
        return time.time() - id_time(self.op_id).timestamp()


class IntentLog:
    """Writes and reads intents; operation ids are snowflakes (time-ordered)."""

    def __init__(self, cql: Cql, statements: dict[str, PreparedStatement], *, shards: int,
                 slot_seconds: int, table: str = "outbox") -> None:
        self.table = table  # names the outbox in metrics
        self._cql = cql
        self._s = statements
        self.shards = shards
        self.slot_seconds = slot_seconds
        self._discarded: list[int] = []
        self._flushing: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()  # set when stopping: delete without waiting

    @classmethod
    async def open(cls, cql: Cql, table: str, *, shards: int = 16,
                   slot_seconds: int = 60) -> Self:
        """`table` names the intents table; `<table>_checkpoints` and
        `<table>_leases` must exist beside it (see the service's migrations)."""
        if not _IDENTIFIER.fullmatch(table):
            raise ValueError(f"{table!r} is not a CQL table name")
        queries = {
            "add": "INSERT INTO {t} (shard, slot, op_id, ref, op) VALUES (?, ?, ?, ?, ?)",
            "remove": "DELETE FROM {t} WHERE shard = ? AND slot = ? AND op_id = ?",
            "scan": "SELECT op_id, ref, op FROM {t} WHERE shard = ? AND slot = ?",
            "scan_many": "SELECT shard, slot, op_id, ref, op FROM {t}"
                         " WHERE shard IN ? AND slot IN ?",
            "checkpoint": "SELECT slot FROM {t}_checkpoints WHERE shard = ?",
            "init_checkpoint": "INSERT INTO {t}_checkpoints (shard, slot) VALUES (?, ?)"
                               " IF NOT EXISTS",
            "advance": "UPDATE {t}_checkpoints SET slot = ? WHERE shard = ?",
            "holders": "SELECT shard, owner FROM {t}_leases WHERE shard IN ?",
            "take_lease": "INSERT INTO {t}_leases (shard, owner) VALUES (?, ?)"
                          " IF NOT EXISTS USING TTL ?",
            "renew_lease": "UPDATE {t}_leases USING TTL ? SET owner = ? WHERE shard = ?"
                           " IF owner = ?",
            "drop_lease": "DELETE FROM {t}_leases WHERE shard = ? IF owner = ?",
        }
        statements = {k: await cql.prepare(q.replace("{t}", table)) for k, q in queries.items()}
        return cls(cql, statements, shards=shards, slot_seconds=slot_seconds, table=table)

    def shard_of(self, op_id: int) -> int:
        # Mix the millisecond bits in: the low bits alone are a per-ms sequence.
        return ((op_id >> 22) ^ op_id) % self.shards

    def slot_of(self, op_id: int) -> int:
        return int(id_time(op_id).timestamp()) // self.slot_seconds

    async def add(self, op_id: int, ref: int, *, op: str | None = None) -> None:
        await self._cql.execute(self._s["add"], (self.shard_of(op_id), self.slot_of(op_id),
                                                 op_id, ref, op))

    async def remove(self, op_id: int) -> None:
        await self._cql.execute(self._s["remove"], self._key(op_id))

    def discard(self, op_id: int) -> None:
        """Removes a finished operation's intent soon, with others finished about
        the same time. One lost with the process only costs the relay a harmless
        second resolution; `flush` keeps a stopping process from losing any."""
        self._discarded.append(op_id)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="outbox-discards")

    async def flush(self) -> None:
        """Deletes the discarded intents now, not after the delay (the process
        stops); later discards are deleted at once too."""
        self._hurry.set()
        while (task := self._flushing) is not None:
            await task

    async def _flush(self) -> None:
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), DISCARD_DELAY_SECONDS)
            done, self._discarded = self._discarded, []
            await self._remove_all(done)
        except Exception:
            log.warning("could not drop finished outbox intents; the relay will",
                        exc_info=True)
        finally:
            self._flushing = None
            if self._discarded:
                self._flushing = asyncio.create_task(self._flush(), name="outbox-discards")

    async def _remove_all(self, op_ids: Iterable[int]) -> None:
        """Deletes intents, BATCH_PARTITIONS partitions a statement (an unlogged
        batch: each partition's deletes land together or not at all, and one
        that fails only leaves its intents to the relay)."""
        partitions: dict[Part, list[int]] = {}
        for op_id in op_ids:
            partitions.setdefault(self._key(op_id)[:2], []).append(op_id)
        keys = list(partitions)
        chunks = [keys[first:first + BATCH_PARTITIONS]
                  for first in range(0, len(keys), BATCH_PARTITIONS)]
        await asyncio.gather(*(self._cql.execute(batch(
            *((self._s["remove"], (*key, op_id)) for key in chunk for op_id in partitions[key])))
            for chunk in chunks))

    def _key(self, op_id: int) -> tuple[int, int, int]:
        return self.shard_of(op_id), self.slot_of(op_id), op_id

    async def scan(self, shard: int, slot: int) -> list[Intent]:
        rows = await self._cql.execute(self._s["scan"], (shard, slot))
        return [Intent(r["op_id"], r["ref"], r["op"]) for r in rows]

    async def scan_many(self, shards: Sequence[int], slots: Sequence[int]
                        ) -> dict[Part, list[Intent]]:
        """The intents of every (shard, slot) pair, by pair (oldest first), in one read."""
        found: dict[Part, list[Intent]] = {(shard, slot): [] for shard in shards
                                           for slot in slots}
        rows = await self._cql.execute(self._s["scan_many"], (list(shards), list(slots)))
        for r in rows:
            found[r["shard"], r["slot"]].append(Intent(r["op_id"], r["ref"], r["op"]))
        for intents in found.values():
            intents.sort(key=lambda i: i.op_id)
        return found

    async def checkpoint(self, shard: int, default: int, *, create: bool = True) -> int:
        if create:
            await self._cql.execute(self._s["init_checkpoint"], (shard, default))
        rows = await self._cql.execute(self._s["checkpoint"], (shard,))
        return int(rows[0]["slot"]) if rows else default

    async def advance(self, shard: int, slot: int) -> None:
        await self._cql.execute(self._s["advance"], (slot, shard))

    async def advance_many(self, checkpoints: Mapping[int, int]) -> None:
        """Moves several shards' checkpoints, BATCH_PARTITIONS a round trip
        (plain writes: a batch that half lands only leaves slots to read again)."""
        moves = [(self._s["advance"], (slot, shard)) for shard, slot in checkpoints.items()]
        for first in range(0, len(moves), BATCH_PARTITIONS):
            chunk = moves[first:first + BATCH_PARTITIONS]
            await self._cql.execute(*chunk[0]) if len(chunk) == 1 \
                else await self._cql.execute(batch(*chunk))

    async def holders(self, shards: Sequence[int]) -> dict[int, str]:
        """Who holds these shards' leases, as a plain read sees it (a hint: only
        the lease's own transaction decides)."""
        rows = await self._cql.execute(self._s["holders"], (list(shards),))
        return {r["shard"]: r["owner"] for r in rows}

    async def lease(self, shard: int, owner: str, ttl_seconds: int) -> bool:
        rows = await self._cql.execute(self._s["take_lease"], (shard, owner, ttl_seconds))
        if applied(rows):
            return True
        if rows and rows[0].get("owner") == owner:
            return await self.renew(shard, owner, ttl_seconds)
        return False

    async def renew(self, shard: int, owner: str, ttl_seconds: int) -> bool:
        """Extends a lease `owner` holds (one Paxos round); False once it is lost."""
        rows = await self._cql.execute(self._s["renew_lease"], (ttl_seconds, owner, shard, owner))
        return applied(rows)

    async def release(self, shard: int, owner: str) -> None:
        await self._cql.execute(self._s["drop_lease"], (shard, owner))


Resolve = Callable[[Intent], Awaitable[None]]


class IntentRelay:
    """Resolves intents the request path left behind (crash, NATS down, timeouts).

    Idle, it costs next to nothing: a slot ripens once per `slot_seconds`, so a
    round with no new ripe slot reads nothing; the checkpoints of the shards
    it holds are kept in memory while the lease is (no other relay moves them
    meanwhile), read again whenever a lease is taken; a held lease is renewed
    (one Paxos round) a third of its TTL after the last renewal, and the shards
    of other relays are asked for only every half TTL, in case theirs lapsed:
    one plain read of the lease rows, then a Paxos round only for a shard
    nobody holds (the round, not the read, decides who gets it)."""

    def __init__(self, intents: IntentLog, resolve: Resolve, *, grace_seconds: float = 30.0,
                 poll_seconds: float = 5.0, max_slots_per_round: int = 120,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = intents
        self._resolve = resolve
        self._grace = grace_seconds
        self._poll = poll_seconds
        self._max_slots = max_slots_per_round
        self._owner = uuid.uuid4().hex
        self._lease_ttl = max(int(poll_seconds * 12), 10)
        self._clock = clock  # lease timing (monotonic)
        self._held: dict[int, float] = {}  # shard -> when its lease was last taken or renewed
        self._claimed_at: float | None = None  # when free shards were last asked for
        self._checkpoints: dict[int, int] = {}  # of held shards, as this relay last wrote them
        self._leftover = 0  # intents past their grace that the last round could not resolve

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.relay_once(await self.hold_leases())
                except Exception:
                    log.exception("outbox relay round failed; will retry")
                await asyncio.sleep(self._poll)
        finally:
            for shard in self._held:
                with contextlib.suppress(Exception):
                    await self._log.release(shard, self._owner)

    async def hold_leases(self) -> set[int]:
        """The shards this relay holds now: renews the leases due, and asks for
        the others every half TTL."""
        now = self._clock()
        for shard, renewed in list(self._held.items()):
            if now - renewed < self._lease_ttl / 3:
                continue
            if now - renewed < self._lease_ttl - self._poll \
                    and await self._log.renew(shard, self._owner, self._lease_ttl):
                self._held[shard] = now
            else:  # lost, or too near its end to trust
                self._drop(shard)
        if self._claimed_at is None or now - self._claimed_at >= self._lease_ttl / 2:
            self._claimed_at = now
            free = [shard for shard in range(self._log.shards) if shard not in self._held]
            others = {shard for shard, owner in (await self._log.holders(free)).items()
                      if owner != self._owner} if free else set()
            for shard in free:
                if shard not in others \
                        and await self._log.lease(shard, self._owner, self._lease_ttl):
                    self._held[shard] = now
        return set(self._held)

    def _drop(self, shard: int) -> None:
        del self._held[shard]
        self._checkpoints.pop(shard, None)  # another relay may move it from now on

    async def relay_once(self, shards: Iterable[int], *, now: float | None = None,
                         advance: bool = True) -> int:
        """One pass over the given shards; returns how many intents were resolved.

        `now` and `advance=False` let a test sweep the present without moving the
        checkpoints the running relays share."""
        now = time.time() if now is None else now
        self._leftover = 0
        ripe = int(now - self._grace) // self._log.slot_seconds - 1  # newest slot past the grace
        due: dict[int, range] = {}
        for shard in shards:
            if (ahead := await self._due(shard, ripe, advance)) is not None:
                due[shard] = ahead
        checkpoints = {shard: slots.start for shard, slots in due.items()}
        resolved = 0
        for group, slots in _reads(due):
            found = await self._log.scan_many(group, slots)
            for shard in group:
                for slot in slots:
                    resolved += await self._resolve_all(found[shard, slot], shard, slot,
                                                        checkpoints)
        if advance:
            await self._log.advance_many({shard: checkpoint for shard, checkpoint
                                          in checkpoints.items()
                                          if checkpoint != due[shard].start})
            self._checkpoints |= {shard: checkpoint for shard, checkpoint
                                  in checkpoints.items() if shard in self._held}
        outbox_metrics.BACKLOG.labels(self._log.table).set(self._leftover)
        return resolved

    async def _due(self, shard: int, ripe: int, advance: bool) -> range | None:
        """The shard's slots to read this round, from its checkpoint on; None
        when no new slot ripened since the last round (nothing to read)."""
        cached = self._checkpoints.get(shard) if advance else None
        if cached is not None and cached > ripe:
            return None
        # A new shard starts at the present: intents are written only by services
        # whose relay (started first) has already created the checkpoint.
        start = cached if cached is not None else await self._log.checkpoint(
            shard, default=ripe, create=advance)
        return range(start, min(ripe, start + self._max_slots - 1) + 1)

    async def _resolve_all(self, intents: list[Intent], shard: int, slot: int,
                           checkpoints: dict[int, int]) -> int:
        """Resolves one slot's intents; the checkpoint moves past the slot when
        every one of them (and every slot before it) is resolved."""
        resolved, leftover = 0, False
        for intent in intents:
            try:
                await self._resolve(intent)
                resolved += 1
                outbox_metrics.RELAYED.labels(self._log.table, "resolved").inc()
            except Exception:
                leftover = True
                self._leftover += 1
                outbox_metrics.RELAYED.labels(self._log.table, "failed").inc()
                log.exception("could not resolve an outbox intent", op_id=intent.op_id,
                              age_seconds=round(intent.age_seconds))
        if not leftover and slot == checkpoints[shard]:
            checkpoints[shard] = slot + 1
        return resolved


def _reads(due: Mapping[int, range]) -> list[tuple[list[int], list[int]]]:
    """The reads that cover every shard's due slots, oldest slots first: shards
    due the same slots share reads of at most SCAN_PARTITIONS partitions."""
    groups: dict[range, list[int]] = {}
    for shard, slots in due.items():
        if slots:
            groups.setdefault(slots, []).append(shard)
    reads = []
    for slots, shards in groups.items():
        for first in range(0, len(slots), SCAN_PARTITIONS):
            chunk = list(slots[first:first + SCAN_PARTITIONS])
            per_read = max(1, SCAN_PARTITIONS // len(chunk))
            reads += [(shards[i:i + per_read], chunk) for i in range(0, len(shards), per_read)]
    return reads
