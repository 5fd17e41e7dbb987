"""Timeline benchmarks: fanout throughput beside raw pipelined ZADD on the same
Redis, fanout lag for an author with 10,000 followers, and home timeline reads
through the edge."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx
from redis.asyncio import Redis

from benchmarks import wrk
from benchmarks.accounts import account
from tests.bulk import load_followers

FOLLOWERS = 10_000
TWEETS = 20


async def _fanout(env: dict[str, str]) -> list[str]:
    redis = Redis.from_url(env["REDIS_URL"])
    async with httpx.AsyncClient(base_url=env["EDGE_URL"], timeout=60) as http:
        author = await account(http, f"btl{int(time.time()) % 10**8}")
        followers = await asyncio.to_thread(load_followers, env["PG_DSN"], int(author["id"]),
                                            FOLLOWERS)
        async with redis.pipeline(transaction=False) as pipe:
            for f in followers:
                pipe.set(f"tl:{f}:active", "1", ex=3600)
            await pipe.execute()
        await redis.delete("tl:fanout_lag_ms")
        started = time.perf_counter()
        posted = []
        for n in range(TWEETS):
            r = await http.post("/v1/tweets", json={"content": f"bench fanout {n}"},
                                headers={"Authorization": f"Bearer {author['token']}"})
            r.raise_for_status()
            posted.append(r.json()["tweet"]["tweetId"])
        while await redis.llen("tl:fanout_lag_ms") < TWEETS:
            await asyncio.sleep(0.05)
        fanout_seconds = time.perf_counter() - started
        lags = sorted(float(x) for x in await redis.lrange("tl:fanout_lag_ms", 0, -1))

    # The same number of inserts as raw pipelined ZADD (5,000 per pipeline).
    members = [f"{9 * 10**18 + i}:1" for i in range(TWEETS)]
    started = time.perf_counter()
    for member in members:
        for i in range(0, FOLLOWERS, 5000):
            async with redis.pipeline(transaction=False) as pipe:
                for f in followers[i:i + 5000]:
                    pipe.zadd(f"bench:raw:{f}", {member: 1})
                await pipe.execute()
    raw_seconds = time.perf_counter() - started
    async with redis.pipeline(transaction=False) as pipe:
        for f in followers:
            pipe.delete(f"bench:raw:{f}")
        await pipe.execute()
    await redis.aclose()
    inserts = FOLLOWERS * TWEETS
    fanout_rate, raw_rate = inserts / fanout_seconds, inserts / raw_seconds
    p99 = lags[max(0, int(len(lags) * 0.99) - 1)]
    return [
        f"{'fanout inserts (10k followers x 20 tweets)':<42} {fanout_rate:>9.0f} inserts/s"
        f"   raw pipelined ZADD {raw_rate:,.0f}/s   ratio {fanout_rate / raw_rate:.2f}",
        f"{'fanout lag, 10k followers':<42} p50 {statistics.median(lags):.0f} ms"
        f"   p99 {p99:.0f} ms   (n={len(lags)})",
    ]


async def _readers(edge_url: str, count: int) -> tuple[dict[str, str], list[dict[str, str]]]:
    async with httpx.AsyncClient(base_url=edge_url, timeout=60) as http:
        author = await account(http, "bench_tl_author")
        headers = {"Authorization": f"Bearer {author['token']}"}
        for n in range(30):
            await http.post("/v1/tweets", json={"content": f"timeline bench {n}"},
                            headers=headers)
        readers = []
        for i in range(count):
            reader = await account(http, f"bench_tl_r{i}")
            await http.post(f"/v1/users/{reader['id']}/follow",
                            json={"targetUserId": author["id"]},
                            headers={"Authorization": f"Bearer {reader['token']}"})
            readers.append(reader)
        await asyncio.sleep(1)
        return author, readers


def _bench_reads(edge_url: str, readers: list[dict[str, str]]) -> wrk.Result:
    rows = ", ".join(f'{{"{r["id"]}", "{r["token"]}"}}' for r in readers)
    script = f"""
local readers = {{ {rows} }}
local i = 0
request = function()
  i = i + 1
  local r = readers[(i % #readers) + 1]
  return wrk.format("GET", "/v1/timeline/" .. r[1] .. "?pageSize=20",
    {{["Authorization"] = "Bearer " .. r[2]}})
end
"""
    return wrk.run("home timeline, 20 entries, through the edge", edge_url, script,
                   connections=16)


def run(env: dict[str, str]) -> list[str]:
    lines = asyncio.run(_fanout(env))
    _, readers = asyncio.run(_readers(env["EDGE_URL"], 20))
    lines.append(_bench_reads(env["EDGE_URL"], readers).line())
    return lines
