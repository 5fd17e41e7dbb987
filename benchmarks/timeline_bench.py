"""Timeline benchmarks: fanout throughput beside raw pipelined ZADD on the same
Redis; fanout lag for an author with 10,000 followers; home timeline reads
through the edge (wrk, 16 connections) by readers who follow 20 authors with
full timelines (800 entries), with the tweet cache's hit rates during the run,
and beside them the same readers' list timelines of those 20 authors;
and GetTweet / BatchGetTweets of 100 ids straight to the tweets service."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter

import grpc
import httpx
from prometheus_client.parser import text_string_to_metric_families
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from benchmarks import redis_modes, wrk
from benchmarks.accounts import account, accounts
from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from services.shared.stores import redis_client
from services.timeline.store import FANOUT_LAG_MS, active_key
from stack import topology
from tests.support.bulk import load_followers

FOLLOWERS = 10_000
TWEETS = 20


async def _fanout(env: dict[str, str]) -> list[str]:
    redis = redis_client.connect(env["REDIS_URL"])
    async with httpx.AsyncClient(base_url=env["EDGE_URL"], timeout=60) as http:
        author = await account(http, f"btl{int(time.time()) % 10**8}")
        followers = await asyncio.to_thread(load_followers, env["PG_DSN"], int(author["id"]),
                                            FOLLOWERS)
        async with redis.pipeline(transaction=False) as pipe:
            for f in followers:
                pipe.set(active_key(f), "1", ex=3600)
            await pipe.execute()
        await redis.delete(FANOUT_LAG_MS)
        started = time.perf_counter()
        posted = []
        for n in range(TWEETS):
            r = await http.post("/v1/tweets", json={"content": f"bench fanout {n}"},
                                headers={"Authorization": f"Bearer {author['token']}"})
            r.raise_for_status()
            posted.append(r.json()["tweet"]["tweetId"])
        while await redis.llen(FANOUT_LAG_MS) < TWEETS:
            await asyncio.sleep(0.05)
        fanout_seconds = time.perf_counter() - started
        lags = sorted(float(x) for x in await redis.lrange(FANOUT_LAG_MS, 0, -1))

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


AUTHORS = 20
TWEETS_PER_AUTHOR = 40  # 20 authors x 40 = 800 entries: a full timeline (TIMELINE_CAPACITY)
READERS = 20
POINT_READS = 300


async def readers_of_authors(edge_url: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """20 authors with 40 tweets each and 20 readers who follow all of them (re-runs
    top the tweets up instead of adding more)."""
    # Eight logins at a time (argon2): twenty at once time out on a busy machine.
    authors = await accounts(edge_url, "bench_tl_a", AUTHORS)
    readers = await accounts(edge_url, "bench_tl_r", READERS)
    async with httpx.AsyncClient(base_url=edge_url, timeout=60) as http:

        async def fill(author: dict[str, str]) -> None:
            headers = {"Authorization": f"Bearer {author['token']}"}
            have = await http.get(f"/v1/users/{author['id']}/tweets?pageSize=100",
                                  headers=headers)
            for n in range(len(have.json().get("tweets", [])), TWEETS_PER_AUTHOR):
                r = await http.post("/v1/tweets", headers=headers, json={
                    "content": f"timeline bench {n} by #a{author['id'][-4:]} with some words"})
                r.raise_for_status()

        gate = asyncio.Semaphore(4)

        async def gated(author: dict[str, str]) -> None:
            async with gate:
                await fill(author)

        await asyncio.gather(*(gated(a) for a in authors))
        for reader in readers:
            headers = {"Authorization": f"Bearer {reader['token']}"}
            for author in authors:
                r = await http.post(f"/v1/users/{reader['id']}/follow", headers=headers,
                                    json={"targetUserId": author["id"]})
                r.raise_for_status()
        await asyncio.sleep(2)  # fanout of the last tweets
        for reader in readers:  # one read each materialises the timelines
            r = await http.get(f"/v1/timeline/{reader['id']}",
                               headers={"Authorization": f"Bearer {reader['token']}"})
            r.raise_for_status()
            reader["list"] = await _author_list(http, reader, authors)
        return authors, readers


async def _author_list(http: httpx.AsyncClient, reader: dict[str, str],
                       authors: list[dict[str, str]]) -> str:
    """The reader's list of the same 20 authors (made once, kept by re-runs),
    read once so its members' recent sets are cached, as a reader's would be."""
    headers = {"Authorization": f"Bearer {reader['token']}"}
    owned = await http.get(f"/v1/users/{reader['id']}/lists", headers=headers)
    owned.raise_for_status()
    found = [x["listId"] for x in owned.json().get("lists", []) if x["name"] == "bench"]
    if found:
        list_id: str = found[0]
    else:
        r = await http.post("/v1/lists", headers=headers, json={"name": "bench"})
        r.raise_for_status()
        list_id = r.json()["list"]["listId"]
        for author in authors:
            r = await http.post(f"/v1/lists/{list_id}/members", headers=headers,
                                json={"userId": author["id"]})
            r.raise_for_status()
    (await http.get(f"/v1/lists/{list_id}/timeline", headers=headers)).raise_for_status()
    return list_id


def bench_home_reads(edge_url: str, readers: list[dict[str, str]]) -> wrk.Result:
    return _wrk_reads(edge_url, readers, "id", '"/v1/timeline/" .. r[1] .. "?pageSize=20"',
                      f"home timeline, 20 of {AUTHORS} authors, edge")


def _bench_list_reads(edge_url: str, readers: list[dict[str, str]]) -> wrk.Result:
    """The same readers and run as bench_home_reads, each reading their list of
    the same 20 authors: fanout on read beside the materialised home timeline."""
    return _wrk_reads(edge_url, readers, "list",
                      '"/v1/lists/" .. r[1] .. "/timeline?pageSize=20"',
                      f"list timeline, {AUTHORS} members, edge")


def _wrk_reads(edge_url: str, readers: list[dict[str, str]], field: str, path: str,
               name: str) -> wrk.Result:
    """Reads `path` (a Lua expression of r[1], the reader's `field`) round-robin
    over the readers, each with their own token."""
    rows = ", ".join(f'{{"{r[field]}", "{r["token"]}"}}' for r in readers)
    script = f"""
local readers = {{ {rows} }}
local i = 0
request = function()
  i = i + 1
  local r = readers[(i % #readers) + 1]
  return wrk.format("GET", {path},
    {{["Authorization"] = "Bearer " .. r[2]}})
end
"""
    return wrk.run(name, edge_url, script, connections=16)


def _percentiles(name: str, latencies: list[float], elapsed: float) -> str:
    latencies.sort()
    n = len(latencies)
    return (f"{name:<42} {n / elapsed:>9.1f} req/s   p50 {latencies[n // 2]:>7.2f} ms"
            f"   p99 {latencies[max(0, int(n * 0.99) - 1)]:>7.2f} ms   (sequential)")


async def _point_reads(tweets_addr: str, authors: list[dict[str, str]],
                       viewer: dict[str, str]) -> list[str]:
    """GetTweet (as the viewer) and BatchGetTweets of 100 ids, straight to the tweets
    service, one call at a time."""
    channel = internal_channel(tweets_addr, AuthSettings().internal_token.get_secret_value())
    stub = tweets_pb2_grpc.TweetServiceStub(channel)
    pages = await asyncio.gather(*(stub.ListRecentTweetIds(tweets_pb2.ListRecentTweetIdsRequest(
        user_id=int(a["id"]), page_size=100)) for a in authors))
    ids = [ref.tweet_id for page in pages for ref in page.tweets]
    rng = random.Random(7)
    user_channel = grpc.aio.insecure_channel(tweets_addr)
    user_stub = tweets_pb2_grpc.TweetServiceStub(user_channel)
    bearer = (("authorization", f"Bearer {viewer['token']}"),)
    latencies = []
    started = time.perf_counter()
    for _ in range(POINT_READS):
        t0 = time.perf_counter()
        await user_stub.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=rng.choice(ids)),
                                 metadata=bearer, timeout=30)
        latencies.append((time.perf_counter() - t0) * 1000)
    lines = [_percentiles("GetTweet over gRPC", latencies, time.perf_counter() - started)]
    latencies = []
    started = time.perf_counter()
    for _ in range(POINT_READS):
        t0 = time.perf_counter()
        await stub.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
            tweet_ids=rng.sample(ids, 100), viewer_user_id=int(viewer["id"])), timeout=30)
        latencies.append((time.perf_counter() - t0) * 1000)
    lines.append(_percentiles("BatchGetTweets of 100 ids over gRPC", latencies,
                              time.perf_counter() - started))
    await channel.close()
    await user_channel.close()
    return lines


def _cache_lookups() -> Counter[tuple[str, str]]:
    """Tweet cache lookups by (tier, result), summed over every process of the
    services that read the cache (their Prometheus endpoints)."""
    settings = topology.load()
    totals: Counter[tuple[str, str]] = Counter()
    for service in ("tweets", "timeline"):
        base = settings.service_port(service) + topology.METRICS_OFFSET
        for n in range(settings.processes[service]):
            port = base + n * topology.PROCESS_METRICS_STRIDE
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            for family in text_string_to_metric_families(text):
                if family.name == "tweet_cache_lookups":
                    for sample in family.samples:
                        if sample.name.endswith("_total"):
                            key = (sample.labels["tier"], sample.labels["result"])
                            totals[key] += int(sample.value)
    return totals


def _hit_rates(before: Counter[tuple[str, str]], after: Counter[tuple[str, str]]) -> str:
    d = {k: after[k] - before[k] for k in after}
    lookups = d.get(("hot", "hit"), 0) + d.get(("hot", "miss"), 0)
    hot = d.get(("hot", "hit"), 0)
    warm = d.get(("warm", "hit"), 0)
    if not lookups:
        return "tweet cache: no lookups during the run"
    return (f"{'tweet cache during the read run':<42} hot {hot / lookups:.2%}"
            f"   warm {warm / lookups:.2%}   hot+warm {(hot + warm) / lookups:.2%}"
            f"   ({lookups:.0f} lookups)")


def run(env: dict[str, str]) -> list[str]:
    lines = asyncio.run(_fanout(env))
    authors, readers = asyncio.run(readers_of_authors(env["EDGE_URL"]))
    before = _cache_lookups()
    lines.append(bench_home_reads(env["EDGE_URL"], readers).line())
    lines.append(_hit_rates(before, _cache_lookups()))
    lines.append(_bench_list_reads(env["EDGE_URL"], readers).line())
    lines += asyncio.run(_point_reads(env["TWEETS_ADDR"], authors, readers[0]))
    lines += redis_modes.run(env, readers)
    return lines


def run_reads(env: dict[str, str]) -> list[str]:
    """BENCH=timeline_reads: only the home and list timeline read runs through
    the edge (for scaling checks, e.g. TIMELINE_PROCESSES=1 and 2)."""
    _, readers = asyncio.run(readers_of_authors(env["EDGE_URL"]))
    processes = topology.load().processes["timeline"]
    suffix = f"   ({processes} timeline processes)"
    return [bench_home_reads(env["EDGE_URL"], readers).line() + suffix,
            _bench_list_reads(env["EDGE_URL"], readers).line() + suffix]


def run_redis_modes(env: dict[str, str]) -> list[str]:
    """BENCH=redis_modes: only the cluster / single Redis comparison."""
    _, readers = asyncio.run(readers_of_authors(env["EDGE_URL"]))
    return redis_modes.run(env, readers)
