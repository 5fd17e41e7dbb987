"""Snowflake-style 64-bit ids: time-ordered, unique across processes.

Layout (63 usable bits): 41 bits of milliseconds since EPOCH_MS, 10 bits of worker
id, 12 bits of sequence. Two processes never hold the same worker id at once:
services lease theirs from their store (`services.shared.snowflake.worker_lease`), and an
`IdGenerator` refuses to issue (UNAVAILABLE) while its lease is not known to be
valid. Ids from successive holders of one worker id differ by their time
bits, which assumes the hosts' clocks agree (NTP): to within the lease's safety
margin when a lease expires, more closely when a process releases its id on
shutdown. Tests may use `IdGenerator.fixed`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from services.shared.errors import Unavailable

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_WORKER_BITS = 10
_SEQUENCE_BITS = 12
WORKER_IDS = 1 << _WORKER_BITS  # worker ids are 0..WORKER_IDS - 1
_MAX_SEQUENCE = (1 << _SEQUENCE_BITS) - 1


@dataclass(frozen=True)
class Grant:
    """A worker id and the `time.monotonic()` instant until which it may issue ids."""

    worker_id: int
    deadline: float

    def __post_init__(self) -> None:
        if not 0 <= self.worker_id < WORKER_IDS:
            raise ValueError(f"worker_id must be within 0..{WORKER_IDS - 1}")


class WorkerIds(Protocol):
    """Where a generator gets its worker id (a lease in services)."""

    def grant(self) -> Grant | None:
        """The current grant, or None while no worker id is held."""


class FixedWorker:
    """A worker id held forever: for tests and tools, never for services."""

    def __init__(self, worker_id: int) -> None:
        self._grant = Grant(worker_id, math.inf)

    def grant(self) -> Grant:
        return self._grant


class IdGenerator:
    def __init__(self, workers: WorkerIds) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0
        self._worker_id = -1

    @classmethod
    def fixed(cls, worker_id: int) -> IdGenerator:
        return cls(FixedWorker(worker_id))

    def next_id(self) -> int:
        # One immutable grant per id: a renewal (or a new worker id) swapping it
        # meanwhile cannot pair one grant's worker id with another's deadline.
        grant = self._workers.grant()
        if grant is None:
            raise Unavailable("no valid worker id lease")
        with self._lock:
            # The clock may have gone back (NTP step): keep issuing from the last instant.
            now = max(_now_ms(), self._last_ms)
            if grant.worker_id != self._worker_id:
                # A new worker id (the lease was lost and replaced): start a new
                # millisecond, so this process's ids keep growing whatever the id.
                self._worker_id = grant.worker_id
                now = max(now, self._last_ms + 1)
                self._sequence = 0
            elif now == self._last_ms:
                self._sequence = (self._sequence + 1) & _MAX_SEQUENCE
                if self._sequence == 0:
                    while now <= self._last_ms:
                        now = _now_ms()
            else:
                self._sequence = 0
            self._last_ms = now
            # Checked after the timestamp is taken, so no id carries a time past
            # the lease's deadline (another holder may take the id after it).
            if time.monotonic() >= grant.deadline:
                raise Unavailable("no valid worker id lease")
            return ((now - EPOCH_MS) << (_WORKER_BITS + _SEQUENCE_BITS)) | (
                grant.worker_id << _SEQUENCE_BITS
            ) | self._sequence


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def worker_of(snowflake: int) -> int:
    """The worker id an id was issued under."""
    return (snowflake >> _SEQUENCE_BITS) & (WORKER_IDS - 1)


def id_time(snowflake: int) -> datetime:
    """When an id was issued (millisecond precision, UTC)."""
    ms = (snowflake >> (_WORKER_BITS + _SEQUENCE_BITS)) + EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def min_id_at(moment: datetime) -> int:
    """The smallest id that could have been issued at `moment` (for time-range scans)."""
    ms = int(moment.timestamp() * 1000)
    return max(0, (ms - EPOCH_MS) << (_WORKER_BITS + _SEQUENCE_BITS))


def write_timestamp(snowflake: int) -> int:
    """A CQL write timestamp (microseconds) that orders like ids, for columns
    that must only move forward (last message, read position): with it, the
    newest id wins whatever order writes arrive in, with no read before the
    write and no lightweight transaction. Ids of the same millisecond tie on the
    timestamp, and then the larger value (the larger id) wins."""
    return ((snowflake >> (_WORKER_BITS + _SEQUENCE_BITS)) + EPOCH_MS) * 1000
