"""Fanout under faults: a worker killed mid-fanout leaves nothing half done."""

from __future__ import annotations

import asyncio
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


async def count_holding(redis: Redis, user_ids: list[int], tweet_id: str,
                        author_id: str) -> int:
    member = f"{tweet_id}:{author_id}"
    async with redis.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.zscore(f"tl:{user_id}:home", member)
        scores = await pipe.execute()
    return sum(score is not None for score in scores)


async def test_killed_worker_completes_fanout_exactly_once(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    author = await new_user(edge)
    followers = await asyncio.to_thread(load_followers, stack_env["PG_DSN"],
                                        int(author["userId"]), FOLLOWERS)
    redis = Redis.from_url(stack_env["REDIS_URL"])
    try:
        # 20,000 recently active readers with materialised timelines.
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in followers:
                pipe.set(f"tl:{user_id}:active", "1", ex=3600)
            await pipe.execute()

        r = await edge.post("/v1/tweets", json={"content": "fan me out"},
                            headers=author["headers"])
        assert r.status_code == 200, r.text
        tweet_id = r.json()["tweet"]["tweetId"]

        # Kill the worker as soon as the fanout has started, before it finished.
        deadline = time.monotonic() + 20
        while await count_holding(redis, followers[:5000], tweet_id, author["userId"]) == 0:
            assert time.monotonic() < deadline, "fanout never started"
            await asyncio.sleep(0.01)
        before_kill = await count_holding(redis, followers, tweet_id, author["userId"])
        supervisorctl("signal", "KILL", "timeline-worker")
        print(f"worker killed with {before_kill} of {FOLLOWERS} timelines written")

        # supervisord restarts it; JetStream redelivers the unacked message.
        deadline = time.monotonic() + 90
        while (done := await count_holding(redis, followers, tweet_id,
                                           author["userId"])) < FOLLOWERS:
            assert time.monotonic() < deadline, f"only {done} of {FOLLOWERS} after restart"
            await asyncio.sleep(0.5)

        # Exactly once: one entry for the tweet in every timeline.
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in followers:
                pipe.zrange(f"tl:{user_id}:home", 0, -1)
            timelines = await pipe.execute()
        for members in timelines:
            assert sum(m.decode().split(":")[0] == tweet_id for m in members) == 1
        assert "RUNNING" in supervisorctl("status", "timeline-worker")
    finally:
        await redis.aclose()
