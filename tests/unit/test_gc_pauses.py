"""The garbage collector's pauses are observed, by generation."""

from __future__ import annotations

import gc

from prometheus_client import REGISTRY

from services.shared.observability.gc_pauses import time_collections


def _count(generation: int) -> float:
    return REGISTRY.get_sample_value("python_gc_pause_seconds_count",
                                     {"generation": str(generation)}) or 0.0


def test_each_collection_is_observed_once_under_its_generation() -> None:
    time_collections()
    time_collections()  # idempotent: still one observation a collection
    gc.disable()  # no automatic collection between the counts (reading them allocates)
    try:
        before = _count(2), _count(1)
        gc.collect(2)
        gc.collect(1)
        after = _count(2), _count(1)
    finally:
        gc.enable()
    assert after == (before[0] + 1, before[1] + 1)
    assert (REGISTRY.get_sample_value("python_gc_pause_seconds_sum", {"generation": "2"})
            or 0.0) > 0
