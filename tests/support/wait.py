"""Waiting for an effect: poll a condition and return the moment it holds,
instead of sleeping a fixed time that is too long on a quiet machine and too
short on a busy one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], *, within: float = 2.0,
                     every: float = 0.05, what: str = "the condition",
                     ignoring: tuple[type[BaseException], ...] = ()) -> T:
    """Calls `probe` until it returns a truthy value and returns that value.

    Exceptions of the `ignoring` types count as "not yet" (a server still
    starting refuses connections). After `within` seconds the last answer is
    an AssertionError, chained to the last ignored exception if any."""
    deadline = time.monotonic() + within
    last: T | None = None
    error: BaseException | None = None
    while True:
        try:
            last = await probe()
        except ignoring as exc:
            error = exc
        else:
            error = None
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {within} s"
                                 f" (last: {error or last!r})") from error
        await asyncio.sleep(every)
