"""Work that callers share: every caller waiting on a key gets the result of
one run that started after it asked (so it saw what the caller wrote before
asking), and callers arriving during a run share the next. A burst of N
callers on one key costs two runs, not N. (services/tweets/counts.py does the
same for recounts, with per-writer answers.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class Coalescer(Generic[K, R]):
    def __init__(self, work: Callable[[K], Awaitable[R]]) -> None:
        self._work = work
        self._waiting: dict[K, list[asyncio.Future[R]]] = {}
        self._running: dict[K, asyncio.Task[None]] = {}

    async def run(self, key: K) -> R:
        """The result of a run of `key` that started after this call."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if key not in self._running:
            self._running[key] = asyncio.create_task(self._drain(key))
        return await future

    async def _drain(self, key: K) -> None:
        try:
            while waiters := self._waiting.pop(key, []):
                try:
                    result = await self._work(key)
                except Exception as exc:
                    for future in waiters:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for future in waiters:
                    if not future.done():
                        future.set_result(result)
        finally:
            del self._running[key]
