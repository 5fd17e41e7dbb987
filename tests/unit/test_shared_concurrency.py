"""Shared pure logic that services lean on under concurrency: the coalescer,
per-key locks, the carried deadline and page sizes (services/shared)."""

from __future__ import annotations

import asyncio

import pytest

from services.shared.concurrency.coalesce import Coalescer
from services.shared.concurrency.keyed_lock import KeyedLocks
from services.shared.errors import DeadlineExceeded, InvalidArgument
from services.shared.paging.pagination import clamp_page_size
from services.shared.resilience import deadline

# --- Coalescer ---------------------------------------------------------------


class Gate:
    """Work whose runs the test lets finish one at a time, recording what each saw."""

    def __init__(self) -> None:
        self.value = 0
        self.runs: list[tuple[str, int]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def work(self, key: str) -> int:
        seen = self.value
        self.runs.append((key, seen))
        self.started.set()
        await self.release.wait()
        self.release.clear()
        return seen


async def test_a_burst_of_callers_costs_two_runs_and_each_sees_its_own_write() -> None:
    gate = Gate()
    coalescer: Coalescer[str, int] = Coalescer(gate.work)
    first = asyncio.create_task(coalescer.run("k"))
    await gate.started.wait()
    gate.started.clear()
    gate.value = 1  # written after the first run read: later callers must see it
    burst = [asyncio.create_task(coalescer.run("k")) for _ in range(10)]
    await asyncio.sleep(0)
    gate.release.set()
    assert await first == 0
    await gate.started.wait()
    gate.release.set()
    assert await asyncio.gather(*burst) == [1] * 10
    assert gate.runs == [("k", 0), ("k", 1)]


async def test_keys_run_independently() -> None:
    seen: list[str] = []

    async def work(key: str) -> str:
        seen.append(key)
        return key.upper()

    coalescer: Coalescer[str, str] = Coalescer(work)
    assert list(await asyncio.gather(coalescer.run("a"), coalescer.run("b"))) == ["A", "B"]
    assert sorted(seen) == ["a", "b"]


async def test_a_failed_run_fails_its_waiters_and_the_next_run_starts_fresh() -> None:
    calls = 0

    async def work(key: str) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("down")
        return calls

    coalescer: Coalescer[str, int] = Coalescer(work)
    with pytest.raises(ConnectionError):
        await coalescer.run("k")
    assert await coalescer.run("k") == 2


# --- KeyedLocks --------------------------------------------------------------


async def test_holders_of_one_key_take_turns() -> None:
    locks = KeyedLocks()
    inside = 0
    most = 0

    async def hold() -> None:
        nonlocal inside, most
        async with locks.hold(["t1"]):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0)
            inside -= 1

    await asyncio.gather(*(hold() for _ in range(5)))
    assert most == 1


async def test_different_keys_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    # Would time out if "b" waited for a's lock.
    async with locks.hold(["a"]), asyncio.timeout(1), locks.hold(["b"]):
        pass


async def test_overlapping_key_sets_in_any_order_do_not_deadlock() -> None:
    locks = KeyedLocks()
    order: list[str] = []

    async def hold(keys: list[str], name: str) -> None:
        async with locks.hold(keys):
            order.append(name)
            await asyncio.sleep(0)

    async with asyncio.timeout(2):
        await asyncio.gather(*(hold(["x", "y"] if i % 2 else ["y", "x", "x"], str(i))
                               for i in range(6)))
    assert sorted(order) == [str(i) for i in range(6)]


async def test_locks_disappear_when_nobody_holds_or_awaits_them() -> None:
    locks = KeyedLocks()
    async with locks.hold(["a", "b"]):
        assert set(locks._locks) == {"a", "b"}
    assert locks._locks == {}
    with pytest.raises(RuntimeError):
        async with locks.hold(["c"]):
            raise RuntimeError("the holder failed")
    assert locks._locks == {}


# --- deadline ----------------------------------------------------------------


def test_no_deadline_leaves_timeouts_alone() -> None:
    deadline.begin(None, {})
    assert deadline.remaining() is None
    assert deadline.bounded(3.0) == 3.0
    assert deadline.bounded(None) is None


def test_a_deadline_shortens_timeouts_by_what_is_left_minus_the_margin() -> None:
    deadline.begin(100.0, {})  # long enough that no scheduling delay matters
    bounded = deadline.bounded(300.0)
    assert bounded is not None
    assert 50 < bounded <= 100.0 - deadline.MARGIN_SECONDS
    assert deadline.bounded(0.1) == 0.1  # a shorter timeout stays
    deadline.begin(None, {})


def test_the_edges_timeout_header_is_the_deadline_when_grpc_sent_none() -> None:
    deadline.begin(None, {deadline.EDGE_TIMEOUT_HEADER: "200000"})
    left = deadline.remaining()
    assert left is not None
    assert 150 < left <= 200.0
    for junk in ("", "0", "-5", "abc", "1.5"):
        deadline.begin(None, {deadline.EDGE_TIMEOUT_HEADER: junk})
        assert deadline.remaining() is None, junk


def test_nothing_left_is_deadline_exceeded_before_any_work() -> None:
    deadline.begin(deadline.MARGIN_SECONDS / 2, {})
    with pytest.raises(DeadlineExceeded):
        deadline.bounded(5.0)
    deadline.begin(None, {})


async def test_a_deadline_belongs_to_its_own_task() -> None:
    deadline.begin(None, {})

    async def call_with_deadline() -> float | None:
        deadline.begin(1.0, {})
        return deadline.remaining()

    assert await asyncio.create_task(call_with_deadline()) is not None
    assert deadline.remaining() is None  # the other call's deadline did not leak here


# --- page sizes --------------------------------------------------------------


@pytest.mark.parametrize(("asked", "default", "maximum", "got"), [
    (0, 20, 100, 20), (1, 20, 100, 1), (100, 20, 100, 100), (101, 20, 100, 100),
    (0, 100, 1000, 100), (5000, 100, 1000, 1000),
])
def test_page_sizes_default_and_clamp(asked: int, default: int, maximum: int,
                                      got: int) -> None:
    assert clamp_page_size(asked, default=default, maximum=maximum) == got


def test_a_negative_page_size_is_invalid_argument_on_page_size() -> None:
    with pytest.raises(InvalidArgument) as caught:
        clamp_page_size(-1)
    assert [v.field for v in caught.value.violations] == ["page_size"]
