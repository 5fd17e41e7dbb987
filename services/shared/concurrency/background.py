"""Long-running jobs beside a server or worker (outbox relays, sweepers, key
reloaders): started together, cancelled together before the stop hooks close
what they use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

Job = Callable[[], Awaitable[None]]


def start_jobs(jobs: Mapping[str, Job]) -> list[asyncio.Task[None]]:
    async def run(job: Job) -> None:
        await job()

    return [asyncio.create_task(run(job), name=name) for name, job in jobs.items()]


async def stop_jobs(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
