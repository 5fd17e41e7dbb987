"""Tweets benchmarks through the edge (wrk): creating tweets (spread over 100
users' tokens), distinct users liking one tweet and voting in one poll
(docs/POLLS.md), 16 at a time (one token per liker or voter: synthetic ids
with access tokens signed by the stack's own key, as the users service would
sign them, since thousands of password sign-ups would take longer than the
run). Then BatchGetTweets of 100
ids over gRPC."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from benchmarks import wrk
from benchmarks.accounts import accounts as make_accounts
from benchmarks.accounts import synthetic_tokens
from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel

USERS = 100
LIKERS = 12_000  # more than a 10 s run at the goal (500 likes/s) can use
BATCH = 100
BATCH_CALLS = 300


def bench_create(edge_url: str, accounts: list[dict[str, str]]) -> wrk.Result:
    script = wrk.rotating([a["token"] for a in accounts], """
  local body = '{"content":"benchmark tweet ' .. i .. ' #bench https://example.com/' .. i .. '"}'
  return wrk.format("POST", "/v1/tweets",
    {["Authorization"] = bearer, ["Content-Type"] = "application/json"}, body)""")
    return wrk.run("create tweet through the edge", edge_url, script, connections=16)


def bench_likes(edge_url: str, author: dict[str, str], tokens: list[str]) -> wrk.Result:
    response = httpx.post(f"{edge_url}/v1/tweets", json={"content": "like me, everyone"},
                          headers={"Authorization": f"Bearer {author['token']}"}, timeout=30)
    response.raise_for_status()
    tweet_id = response.json()["tweet"]["tweetId"]
    script = wrk.rotating(tokens, f"""
  return wrk.format("POST", "/v1/tweets/{tweet_id}/like",
    {{["Authorization"] = bearer, ["Content-Type"] = "application/json"}}, "{{}}")""")
    return wrk.run("distinct users liking one tweet", edge_url, script, connections=16)


def bench_votes(edge_url: str, author: dict[str, str], tokens: list[str]) -> list[str]:
    """Votes spread over a poll's four options; wrk's threads each walk the
    tokens from the start, so some voters repeat (answered, counted once).
    The line after the figures is the poll's count as its author reads it
    after the run: at least the answers wrk counted (requests still in flight
    when it stops land too), at most the distinct voters."""
    response = httpx.post(f"{edge_url}/v1/tweets", headers={
        "Authorization": f"Bearer {author['token']}"}, timeout=30, json={
        "content": "vote, everyone", "poll": {"options": ["a", "b", "c", "d"],
                                              "duration": "86400s"}})
    response.raise_for_status()
    tweet_id = response.json()["tweet"]["tweetId"]
    script = wrk.rotating(tokens, f"""
  local body = '{{"option":' .. ((i % 4) + 1) .. '}}'
  return wrk.format("POST", "/v1/tweets/{tweet_id}/poll/vote",
    {{["Authorization"] = bearer, ["Content-Type"] = "application/json"}}, body)""")
    result = wrk.run("distinct users voting in one poll", edge_url, script, connections=16)
    poll = httpx.get(f"{edge_url}/v1/tweets/{tweet_id}/poll", timeout=30,
                     headers={"Authorization": f"Bearer {author['token']}"}).json()["poll"]
    counted = [int(o["voteCount"]) for o in poll["options"]]
    return [result.line(), f"{'  votes counted, per option':<42} {sum(counted):>9}"
                           f"   {counted}, {result.requests - result.errors} answers counted"]


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
    lines = [bench_create(edge_url, accounts).line(),
             bench_likes(edge_url, accounts[0], synthetic_tokens(env, LIKERS)).line(),
             *bench_votes(edge_url, accounts[0], synthetic_tokens(env, LIKERS))]
    latencies, elapsed, returned = asyncio.run(bench_batch_get(env["TWEETS_ADDR"], accounts))
    n = len(latencies)
    lines.append(
        f"{'BatchGetTweets of 100 ids over gRPC':<42} {n / elapsed:>9.1f} req/s"
        f"   p50 {latencies[n // 2]:>7.2f} ms   p99 {latencies[int(n * 0.99) - 1]:>7.2f} ms"
        f"   ({returned / n:.0f} tweets per call, sequential)")
    return lines
