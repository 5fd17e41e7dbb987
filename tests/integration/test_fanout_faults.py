"""Fanout under faults: a worker killed mid-fanout leaves nothing half done."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from redis.asyncio import Redis

from stack import topology
from tests.bulk import load_followers
from tests.e2e.test_users_edge import new_user

FOLLOWERS = 20_000


def supervisorctl(*args: str) -> str:
    conf = Path(topology.load().stack_dir) / "supervisord.conf"
    return subprocess.run([str(topology.VENV_BIN / "supervisorctl"), "-c", str(conf), *args],
                          capture_output=True, text=True, check=False).stdout


def worker_pid() -> int:
    return int(supervisorctl("pid", "timeline-worker").strip())


async def count_holding(redis: Redis, user_ids: list[int], member: str) -> int:
    async with redis.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.zscore(f"tl:{user_id}:home", member)
        scores = await pipe.execute()
    return sum(score is not None for score in scores)


async def wait_running(deadline: float) -> None:
    while "RUNNING" not in supervisorctl("status", "timeline-worker"):
        assert time.monotonic() < deadline, "the worker did not come back"
        await asyncio.sleep(0.2)


async def test_killed_worker_completes_fanout_exactly_once(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    author = await new_user(edge)
    followers = sorted(await asyncio.to_thread(load_followers, stack_env["PG_DSN"],
                                               int(author["userId"]), FOLLOWERS))
    redis = Redis.from_url(stack_env["REDIS_URL"])
    try:
        # 20,000 recently active readers with materialised timelines.
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in followers:
                pipe.set(f"tl:{user_id}:active", "1", ex=3600)
            await pipe.execute()

        # Followers are paged in ascending id order, so the lowest id is in the
        # first batch and the highest in the last: kill the worker the moment
        # the first batch lands. Retry (a new tweet) if a fanout outran the kill.
        members, killed_mid_fanout = [], False
        for _ in range(3):
            await wait_running(time.monotonic() + 60)
            pid = worker_pid()
            r = await edge.post("/v1/tweets", json={"content": "fan me out"},
                                headers=author["headers"])
            assert r.status_code == 200, r.text
            member = f"{r.json()['tweet']['tweetId']}:{author['userId']}"
            members.append(member)
            deadline = time.monotonic() + 20
            while await redis.zscore(f"tl:{followers[0]}:home", member) is None:
                assert time.monotonic() < deadline, "fanout never started"
            os.kill(pid, signal.SIGKILL)
            written = await count_holding(redis, followers, member)
            print(f"worker killed with {written} of {FOLLOWERS} timelines written")
            if written < FOLLOWERS:
                killed_mid_fanout = True
                break
        assert killed_mid_fanout, "every fanout finished before the kill"

        # supervisord restarts the worker; JetStream redelivers the unacked message.
        deadline = time.monotonic() + 90
        for member in members:
            while (done := await count_holding(redis, followers, member)) < FOLLOWERS:
                assert time.monotonic() < deadline, f"only {done} of {FOLLOWERS} after restart"
                await asyncio.sleep(0.5)

        # Exactly once: one entry per tweet in every timeline.
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in followers:
                pipe.zrange(f"tl:{user_id}:home", 0, -1)
            timelines = await pipe.execute()
        tweet_ids = [m.split(":")[0] for m in members]
        for entries in timelines:
            ids = [e.decode().split(":")[0] for e in entries]
            assert all(ids.count(t) == 1 for t in tweet_ids)
        await wait_running(time.monotonic() + 60)
    finally:
        await redis.aclose()
