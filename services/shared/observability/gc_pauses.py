"""How long the cyclic garbage collector stops the process, by generation.

Every call in flight waits out a collection, so a full one over a big heap
shows up directly in the p99 (long_lived.py keeps startup's objects out of
its sight; what serving accumulates, such as the caches, is not)."""

from __future__ import annotations

import gc
import time
from typing import Any

from prometheus_client import Histogram

PAUSES = Histogram("python_gc_pause_seconds", "Cyclic garbage collections, by generation.",
                   ["generation"], buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                            0.025, 0.05, 0.1, 0.25))
_BY_GENERATION = [PAUSES.labels(str(g)) for g in range(3)]
_started = 0.0


def _time(phase: str, info: dict[str, Any]) -> None:
    global _started  # noqa: PLW0603 - one collector per process, one clock for it
    if phase == "start":
        _started = time.perf_counter()
    else:
        _BY_GENERATION[info["generation"]].observe(time.perf_counter() - _started)


def time_collections() -> None:
    """Observes every collection from now on (idempotent)."""
    if _time not in gc.callbacks:
        gc.callbacks.append(_time)
