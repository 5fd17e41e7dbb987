"""A private single redis-server (Debian's, as the stack runs it) on a free
port, for the tests that keep the single-Redis deployment (REDIS_MODE=single)
working while the stack runs a cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio

from tests.support.scratch_postgres import free_port
from tests.support.wait import eventually


@asynccontextmanager
async def single_redis(directory: Path, *, replica_of: str | None = None
                       ) -> AsyncIterator[str]:
    """Runs redis-server until the block ends; yields its URL. With
    `replica_of` (another one's URL), a replica of that server."""
    port = free_port()
    replication = []
    if replica_of is not None:
        host, _, rest = replica_of.removeprefix("redis://").partition(":")
        replication = ["--replicaof", host, rest.split("/")[0]]
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        "/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
        "--dir", str(directory), "--save", "", "--appendonly", "no", *replication,
        stdout=asyncio.subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        async def answers() -> bool:
            async with redis.asyncio.Redis.from_url(url) as client:
                return bool(await client.ping())
        await eventually(answers, within=20, what="the private redis-server",
                         ignoring=(redis.exceptions.ConnectionError,))
        yield url
    finally:
        proc.terminate()
        await proc.wait()
