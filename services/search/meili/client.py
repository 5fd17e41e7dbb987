"""Asynchronous use of the official (synchronous) Meilisearch client.

Calls run on a thread pool of their own, so a slow indexing call never holds up
a search, nor the event loop. Each call gets a fresh `Index` object: the
client's HTTP helper rewrites its headers on every request, so one shared
between threads could send a POST without its content type.

Meilisearch applies every write as an asynchronous task. `wait` polls the task
from the event loop (the client's own `wait_for_task` sleeps in a thread) and
raises `TaskFailed` when it did not succeed: a write that Meilisearch refused
must never be acknowledged as indexed. A server that cannot be reached is
`Unavailable`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import meilisearch
from meilisearch.errors import MeilisearchCommunicationError, MeilisearchTimeoutError
from meilisearch.index import Index
from meilisearch.models.task import Task, TaskInfo

from services.shared.errors import Unavailable
from services.shared.resilience.breaker import CircuitBreaker, guarded

T = TypeVar("T")

# Polling starts fast (a small task is done in a few milliseconds) and backs off.
FIRST_POLL_SECONDS = 0.004
MAX_POLL_SECONDS = 0.05


class TaskFailed(Exception):
    def __init__(self, task: Task) -> None:
        error = task.error or {}
        self.code: str = str(error.get("code", task.status))
        super().__init__(f"Meilisearch task {task.uid} ({task.type} on {task.index_uid}) "
                         f"{task.status}: {error.get('message', '')}")


class Meili:
    def __init__(self, url: str, api_key: str | None = None, *, threads: int = 8,
                 timeout_seconds: int = 30) -> None:
        self.client = meilisearch.Client(url, api_key, timeout=timeout_seconds)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="meili")
        # A server that stops answering fails calls fast, and makes the query
        # process report NOT_SERVING (services/shared/resilience/health.py).
        self.breaker = CircuitBreaker("meilisearch")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        async with guarded(self.breaker, "search"):
            try:
                return await loop.run_in_executor(self._pool,
                                                  functools.partial(fn, *args, **kwargs))
            except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
                # A server that does not answer is UNAVAILABLE (503), never an internal error.
                raise Unavailable("search is unavailable right now") from exc

    async def ping(self) -> None:
        await self.run(self.client.health)

    def index(self, uid: str) -> Index:
        return self.client.index(uid)

    async def wait(self, info: TaskInfo | int, within: float = 120.0) -> Task:
        """The task once it succeeded; TaskFailed otherwise, TimeoutError if it
        is still queued or running after `within` seconds."""
        uid = info if isinstance(info, int) else info.task_uid
        delay = FIRST_POLL_SECONDS
        async with asyncio.timeout(within):
            while True:
                task = await self.run(self.client.get_task, uid)
                if task.status == "succeeded":
                    return task
                if task.status in ("failed", "canceled"):
                    raise TaskFailed(task)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_POLL_SECONDS)

    async def queued(self) -> int:
        """Tasks enqueued and not yet started, server-wide (for backpressure)."""
        result = await self.run(self.client.get_tasks, {"statuses": ["enqueued"], "limit": 1})
        return int(result.total or 0)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

