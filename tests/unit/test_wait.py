"""tests/support/wait.py: returns the moment the condition holds, fails after
the time allowed, and treats the exceptions it is told to ignore as "not yet"."""

from __future__ import annotations

import time

import pytest

from tests.support.wait import eventually


async def test_returns_the_first_truthy_answer_at_once() -> None:
    answers = iter([None, 0, "", "ready", "later"])

    async def probe() -> str | int | None:
        return next(answers)

    started = time.monotonic()
    assert await eventually(probe, within=5, every=0.01) == "ready"
    assert time.monotonic() - started < 1  # three polls, not the whole five seconds


async def test_fails_after_the_time_allowed_with_the_last_answer() -> None:
    async def never() -> list[int]:
        return []

    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the queue empty did not hold within 0.2 s"):
        await eventually(never, within=0.2, every=0.02, what="the queue empty")
    assert 0.2 <= time.monotonic() - started < 1


async def test_ignored_exceptions_mean_not_yet_and_others_propagate() -> None:
    calls = 0

    async def starting() -> bool:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionRefusedError("not listening yet")
        return True

    assert await eventually(starting, within=2, every=0.01, ignoring=(ConnectionRefusedError,))
    assert calls == 3

    async def broken() -> bool:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await eventually(broken, within=2, ignoring=(ConnectionRefusedError,))


async def test_a_timeout_keeps_the_last_ignored_exception_as_its_cause() -> None:
    async def refused() -> bool:
        raise ConnectionRefusedError("still down")

    with pytest.raises(AssertionError) as failed:
        await eventually(refused, within=0.1, every=0.02, ignoring=(ConnectionRefusedError,))
    assert isinstance(failed.value.__cause__, ConnectionRefusedError)
