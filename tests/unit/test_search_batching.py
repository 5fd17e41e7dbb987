"""The indexer's batcher: one write in flight, later items in the next batch,
every caller released only once its own item is written."""

from __future__ import annotations

import asyncio

import pytest

from services.search.batching import Batcher


async def test_one_write_in_flight_and_the_next_batch_takes_what_arrived_meanwhile() -> None:
    batches: list[list[int]] = []
    in_flight = 0
    writing, release = asyncio.Event(), asyncio.Event()

    async def write(batch: dict[int, int]) -> None:
        nonlocal in_flight
        in_flight += 1
        assert in_flight == 1
        writing.set()
        await release.wait()  # a slow store: held until the later items are queued
        batches.append(sorted(batch))
        in_flight -= 1

    batcher: Batcher[int, int] = Batcher(write, max_delay=0.01, max_items=1000)
    first = asyncio.create_task(batcher.add(1, 1))
    await asyncio.wait_for(writing.wait(), 1)  # the first batch is being written
    later = [asyncio.create_task(batcher.add(n, n)) for n in range(2, 6)]
    await asyncio.sleep(0)  # one turn of the loop: each add queues its item
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *later), 1)
    assert batches == [[1], [2, 3, 4, 5]]


async def test_a_full_batch_is_written_without_waiting_and_merges_by_key() -> None:
    written: list[dict[str, int]] = []

    async def write(batch: dict[str, int]) -> None:
        written.append(dict(batch))

    batcher: Batcher[str, int] = Batcher(write, max_delay=60, max_items=2, merge=max)
    await asyncio.wait_for(asyncio.gather(batcher.add("a", 1), batcher.add("a", 3),
                                          batcher.add("b", 2)), timeout=1)
    assert written == [{"a": 3, "b": 2}]


async def test_a_failed_write_fails_its_callers_only() -> None:
    async def write(batch: dict[int, int]) -> None:
        if 1 in batch:
            raise RuntimeError("store down")

    batcher: Batcher[int, int] = Batcher(write, max_delay=0.01)
    with pytest.raises(RuntimeError):
        await batcher.add(1, 1)
    await batcher.add(2, 2)
