"""Fanout under faults: a worker killed mid-fanout leaves nothing half done."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx

from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.timeline.domain import Entry
from services.timeline.store import active_key, home_key
from tests.support.bulk import load_followers
from tests.support.stack_control import supervisorctl
from tests.support.users import new_user
from tests.support.wait import eventually

FOLLOWERS = 20_000


def worker_pid() -> int:
    return int(supervisorctl("pid", "timeline-worker").strip())


async def count_holding(redis: RedisClient, user_ids: list[int], member: str) -> int:
    async with redis.pipeline(transaction=False) as pipe:
        for user_id in user_ids:
            pipe.zscore(home_key(user_id), member)
        scores = await pipe.execute()
    return sum(score is not None for score in scores)


async def wait_running(within: float = 60) -> None:
    async def running() -> bool:
        return "RUNNING" in await asyncio.to_thread(supervisorctl, "status", "timeline-worker")
    await eventually(running, within=within, every=0.2, what="the worker running")


async def test_killed_worker_completes_fanout_exactly_once(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    author = await new_user(edge)
    followers = sorted(await asyncio.to_thread(load_followers, stack_env["PG_DSN"],
                                               int(author["userId"]), FOLLOWERS))
    redis = redis_client.connect(stack_env["REDIS_URL"])
    try:
        # 20,000 recently active readers with materialised timelines.
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in followers:
                pipe.set(active_key(user_id), "1", ex=3600)
            await pipe.execute()

        # Followers are paged in ascending id order, so the lowest id is in the
        # first batch and the highest in the last: kill the worker the moment
        # the first batch lands. Retry (a new tweet) if a fanout outran the kill.
        members, killed_mid_fanout = [], False
        for _ in range(3):
            await wait_running()
            pid = worker_pid()
            r = await edge.post("/v1/tweets", json={"content": "fan me out"},
                                headers=author["headers"])
            assert r.status_code == 200, r.text
            member = Entry(int(r.json()["tweet"]["tweetId"]), int(author["userId"])).member
            members.append(member)
            deadline = time.monotonic() + 20
            # A tight poll: the kill must land while the fanout is under way.
            while await redis.zscore(home_key(followers[0]), member) is None:
                assert time.monotonic() < deadline, "fanout never started"
            os.kill(pid, signal.SIGKILL)
            written = await count_holding(redis, followers, member)
            print(f"worker killed with {written} of {FOLLOWERS} timelines written")
            if written < FOLLOWERS:
                killed_mid_fanout = True
                break
        assert killed_mid_fanout, "every fanout finished before the kill"

        # supervisord restarts the worker; JetStream redelivers the unacked message.
        for member in members:
            async def complete(member: str = member) -> bool:
                return await count_holding(redis, followers, member) == FOLLOWERS
            await eventually(complete, within=90, every=0.5,
                             what=f"{member} in all {FOLLOWERS} timelines after the restart")

        # Exactly once: one entry per tweet in every timeline.
        async with redis.pipeline(transaction=False) as pipe:
            for user_id in followers:
                pipe.zrange(home_key(user_id), 0, -1)
            timelines = await pipe.execute()
        tweet_ids = [Entry.parse(m).tweet_id for m in members]
        for entries in timelines:
            ids = [Entry.parse(e).tweet_id for e in entries]
            assert all(ids.count(t) == 1 for t in tweet_ids)
        await wait_running()
    finally:
        await redis.aclose()
