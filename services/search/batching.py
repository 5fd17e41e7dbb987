"""Coalesces many small writes into one: callers add items and wait until the
batch holding them is written, so an event is acknowledged only after its
write (restart-safe) while the store sees one write per batch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Batcher(Generic[K, V]):
    def __init__(self, flush: Callable[[dict[K, V]], Awaitable[None]], *,
                 max_delay: float = 0.2, max_items: int = 500,
                 merge: Callable[[V, V], V] | None = None) -> None:
        self._flush = flush
        self._max_delay = max_delay
        self._max_items = max_items
        self._merge = merge or (lambda _old, new: new)
        self._pending: dict[K, V] = {}
        self._done: asyncio.Future[None] | None = None
        self._timer: asyncio.Task[None] | None = None

    async def add(self, key: K, value: V) -> None:
        old = self._pending.get(key)
        self._pending[key] = value if old is None else self._merge(old, value)
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            self._timer = asyncio.create_task(self._flush_later())
        done = self._done
        if len(self._pending) >= self._max_items:
            await self._flush_now()
        await asyncio.shield(done)

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._max_delay)
        await self._flush_now()

    async def _flush_now(self) -> None:
        batch, done = self._pending, self._done
        self._pending, self._done = {}, None
        timer, self._timer = self._timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        if done is None:
            return
        try:
            await self._flush(batch)
        except Exception as exc:
            done.set_exception(exc)
            with contextlib.suppress(Exception):
                done.exception()  # every waiter re-raises; mark it retrieved
        else:
            done.set_result(None)
