"""Tweets benchmarks: create-tweet throughput and latency through the edge (wrk,
requests spread over 100 users' tokens), and BatchGetTweets of 100 ids over gRPC."""

from __future__ import annotations

import asyncio
import random
import time

from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from benchmarks import wrk
from benchmarks.accounts import accounts as make_accounts
from services.shared.clients import internal_channel
from services.shared.config import AuthSettings

USERS = 100
BATCH = 100
BATCH_CALLS = 300


def bench_create(edge_url: str, accounts: list[dict[str, str]]) -> wrk.Result:
    tokens = ", ".join(f'"{a["token"]}"' for a in accounts)
    script = f"""
local tokens = {{ {tokens} }}
local i = 0
request = function()
  i = i + 1
  local body = '{{"content":"benchmark tweet ' .. i .. ' #bench https://example.com/' .. i .. '"}}'
  return wrk.format("POST", "/v1/tweets",
    {{["Authorization"] = "Bearer " .. tokens[(i % #tokens) + 1],
      ["Content-Type"] = "application/json"}}, body)
end
"""
    return wrk.run("create tweet through the edge", edge_url, script, connections=16)


async def _tweet_ids(stub: tweets_pb2_grpc.TweetServiceAsyncStub,
                     accounts: list[dict[str, str]]) -> list[int]:
    pages = await asyncio.gather(*(stub.ListRecentTweetIds(tweets_pb2.ListRecentTweetIdsRequest(
        user_id=int(a["id"]), page_size=100)) for a in accounts))
    return [ref.tweet_id for page in pages for ref in page.tweets]


async def bench_batch_get(tweets_addr: str, accounts: list[dict[str, str]]) -> tuple[
        list[float], float, int]:
    channel = internal_channel(tweets_addr, AuthSettings().internal_token.get_secret_value())
    stub = tweets_pb2_grpc.TweetServiceStub(channel)
    ids = await _tweet_ids(stub, accounts)
    rng = random.Random(11)
    viewer = int(accounts[0]["id"])
    latencies = []
    returned = 0
    started = time.perf_counter()
    for _ in range(BATCH_CALLS):
        t0 = time.perf_counter()
        response = await stub.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
            tweet_ids=rng.sample(ids, BATCH), viewer_user_id=viewer), timeout=30)
        latencies.append((time.perf_counter() - t0) * 1000)
        returned += len(response.tweets)
    elapsed = time.perf_counter() - started
    await channel.close()
    return sorted(latencies), elapsed, returned


def run(env: dict[str, str]) -> list[str]:
    edge_url = env["EDGE_URL"]
    accounts = asyncio.run(make_accounts(edge_url, "bench_", USERS))
    lines = [bench_create(edge_url, accounts).line()]
    latencies, elapsed, returned = asyncio.run(bench_batch_get(env["TWEETS_ADDR"], accounts))
    n = len(latencies)
    lines.append(
        f"{'BatchGetTweets of 100 ids over gRPC':<42} {n / elapsed:>9.1f} req/s"
        f"   p50 {latencies[n // 2]:>7.2f} ms   p99 {latencies[int(n * 0.99) - 1]:>7.2f} ms"
        f"   ({returned / n:.0f} tweets per call, sequential)")
    return lines
