"""Coalesces many small writes into one: callers add items and wait until the
batch holding them is written, so an event is acknowledged only after its
write (restart-safe) while the store sees one write per batch.

One write is in flight at a time (group commit): what arrives meanwhile waits
in the next batch, which is written as soon as the current one is done. So a
slow write makes the next batch bigger instead of queueing more writes behind
it, and the waiting stays bounded by about two writes plus `max_delay`."""

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
        # A batch this full is written at once (or right after the write in flight).
        self._max_items = max_items
        self._merge = merge or (lambda _old, new: new)
        self._pending: dict[K, V] = {}
        self._done: asyncio.Future[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def add(self, key: K, value: V) -> None:
        old = self._pending.get(key)
        self._pending[key] = value if old is None else self._merge(old, value)
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            self._timer = asyncio.create_task(self._write_later())
        done = self._done
        if len(self._pending) >= self._max_items:
            self._write_soon()
        await asyncio.shield(done)

    async def _write_later(self) -> None:
        await asyncio.sleep(self._max_delay)
        self._write_soon()

    def _write_soon(self) -> None:
        """Starts the writer unless it runs already (it takes the pending batch next)."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all())

    async def _write_all(self) -> None:
        while self._done is not None:
            batch, done = self._pending, self._done
            self._pending, self._done = {}, None
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.cancel()
            try:
                await self._flush(batch)
            except Exception as exc:
                done.set_exception(exc)
                with contextlib.suppress(Exception):
                    done.exception()  # every waiter re-raises; mark it retrieved
            else:
                done.set_result(None)
