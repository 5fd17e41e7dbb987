"""Snowflake-style 64-bit ids: time-ordered, unique across processes.

Layout (63 usable bits): 41 bits of milliseconds since EPOCH_MS, 10 bits of worker
id, 12 bits of sequence. The worker id comes from configuration (a pod ordinal in
Kubernetes); when absent a random one is drawn, which keeps collisions unlikely
on a single machine and the unique constraints in the stores catch the rest.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
_WORKER_BITS = 10
_SEQUENCE_BITS = 12
_MAX_WORKER = (1 << _WORKER_BITS) - 1
_MAX_SEQUENCE = (1 << _SEQUENCE_BITS) - 1


class IdGenerator:
    def __init__(self, worker_id: int | None = None) -> None:
        if worker_id is None:
            worker_id = secrets.randbelow(_MAX_WORKER + 1)
        if not 0 <= worker_id <= _MAX_WORKER:
            raise ValueError(f"worker_id must be within 0..{_MAX_WORKER}")
        self._worker_id = worker_id
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_id(self) -> int:
        with self._lock:
            now = _now_ms()
            if now < self._last_ms:
                # The clock went back (NTP step): keep issuing from the last instant.
                now = self._last_ms
            if now == self._last_ms:
                self._sequence = (self._sequence + 1) & _MAX_SEQUENCE
                if self._sequence == 0:
                    while now <= self._last_ms:
                        now = _now_ms()
            else:
                self._sequence = 0
            self._last_ms = now
            return ((now - EPOCH_MS) << (_WORKER_BITS + _SEQUENCE_BITS)) | (
                self._worker_id << _SEQUENCE_BITS
            ) | self._sequence


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def id_time(snowflake: int) -> datetime:
    """When an id was issued (millisecond precision, UTC)."""
    ms = (snowflake >> (_WORKER_BITS + _SEQUENCE_BITS)) + EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def min_id_at(moment: datetime) -> int:
    """The smallest id that could have been issued at `moment` (for time-range scans)."""
    ms = int(moment.timestamp() * 1000)
    return max(0, (ms - EPOCH_MS) << (_WORKER_BITS + _SEQUENCE_BITS))
