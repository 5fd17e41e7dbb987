"""In memory: the intents table of a Cassandra outbox, its checkpoints and
leases (services/shared/messaging/cql_outbox.py IntentLog), with what the relay needs
to be watched: which slots were scanned, which intents were removed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

from services.shared.messaging.cql_outbox import Intent, IntentLog, Part


class FakeIntentLog(IntentLog):
    def __init__(self, *, shards: int = 4, slot_seconds: int = 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # No CQL session: rows live in the dicts below.
        self.table = "fake_outbox"
        self.shards = shards
        self.slot_seconds = slot_seconds
        self._discarded = []
        self._flushing: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()
        self._clock = clock  # lease expiry
        self.rows: dict[tuple[int, int], dict[int, Intent]] = {}  # (shard, slot) -> op -> intent
        self.checkpoints: dict[int, int] = {}
        self.leases: dict[int, tuple[str, float]] = {}  # shard -> (owner, expires)
        self.scanned: list[tuple[int, int]] = []
        self.reads: list[int] = []  # partitions each scan_many call (one read) names
        self.removed: list[int] = []
        self.lease_calls = 0
        self.renew_calls = 0
        self.checkpoint_reads = 0
        self.lease_called = asyncio.Event()

    def intents(self) -> list[Intent]:
        return [i for part in self.rows.values() for i in part.values()]

    async def add(self, op_id: int, ref: int, *, op: str | None = None) -> None:
        self.rows.setdefault((self.shard_of(op_id), self.slot_of(op_id)), {})[op_id] = Intent(
            op_id, ref, op)

    async def remove(self, op_id: int) -> None:
        self.rows.get((self.shard_of(op_id), self.slot_of(op_id)), {}).pop(op_id, None)
        self.removed.append(op_id)

    def discard(self, op_id: int) -> None:
        self.rows.get((self.shard_of(op_id), self.slot_of(op_id)), {}).pop(op_id, None)
        self.removed.append(op_id)

    async def scan(self, shard: int, slot: int) -> list[Intent]:
        self.scanned.append((shard, slot))
        return sorted(self.rows.get((shard, slot), {}).values(), key=lambda i: i.op_id)

    async def scan_many(self, shards: Sequence[int], slots: Sequence[int]
                        ) -> dict[Part, list[Intent]]:
        self.reads.append(len(shards) * len(slots))
        return {(shard, slot): await self.scan(shard, slot) for slot in slots
                for shard in shards}

    async def checkpoint(self, shard: int, default: int, *, create: bool = True) -> int:
        self.checkpoint_reads += 1
        if create:
            self.checkpoints.setdefault(shard, default)
        return self.checkpoints.get(shard, default)

    async def advance(self, shard: int, slot: int) -> None:
        self.checkpoints[shard] = slot

    async def advance_many(self, checkpoints: Mapping[int, int]) -> None:
        self.checkpoints |= checkpoints

    async def holders(self, shards: Sequence[int]) -> dict[int, str]:
        now = self._clock()
        return {shard: owner for shard, (owner, expires) in self.leases.items()
                if shard in shards and expires > now}

    async def lease(self, shard: int, owner: str, ttl_seconds: int) -> bool:
        self.lease_calls += 1
        self.lease_called.set()
        now = self._clock()
        held = self.leases.get(shard)
        if held is None or held[1] <= now or held[0] == owner:
            self.leases[shard] = (owner, now + ttl_seconds)
            return True
        return False

    async def renew(self, shard: int, owner: str, ttl_seconds: int) -> bool:
        self.renew_calls += 1
        now = self._clock()
        held = self.leases.get(shard)
        if held is None or held[0] != owner or held[1] <= now:
            return False  # lost: the row expired or another relay's
        self.leases[shard] = (owner, now + ttl_seconds)
        return True

    async def release(self, shard: int, owner: str) -> None:
        if self.leases.get(shard, ("", 0.0))[0] == owner:
            del self.leases[shard]
