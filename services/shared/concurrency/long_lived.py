"""What a process builds before it serves lives as long as the process.

Imported modules, protobuf descriptors, clients and settings are some 90,000
objects the cyclic garbage collector would otherwise walk on every full
collection: 21-28 ms of CPU each on this machine when quiet, 54-60 ms under
load, a stall every call in flight waits out (the p99 budget is 50 ms).
Frozen, they are out of its sight and a full collection scans only what
serving allocated since (under 1 ms)."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collects what startup left as garbage, then moves every surviving
    object to the permanent generation (gc.freeze). Call once, when built."""
    gc.collect()
    gc.freeze()
