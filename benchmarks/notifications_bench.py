"""Notifications benchmarks: fan-in of one popular tweet, and unread counts.

Fan-in: 1,000 distinct users (synthetic ids with signed tokens) like one
tweet in a burst through the edge, 32 at a time; the author's like group is
polled until it shows all 1,000. Reported: the burst's own length, and the
time until the group is complete, from the burst's end and from its first
like. The same again with the 1,000 TweetLiked events published straight to
the stream at once (as the tweets service's outbox relay would after a
backlog), which loads the notifications worker alone, not the tweets
service. Then GetUnreadCount through the edge with wrk, rotating over 40
users' tokens."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from google.protobuf.timestamp_pb2 import Timestamp
from twitter.tweets.v1 import events_pb2

from benchmarks import wrk
from benchmarks.accounts import accounts as make_accounts
from benchmarks.accounts import synthetic_tokens
from services.shared.messaging import events as jetstream

LIKES = 1_000
CONCURRENCY = 32
USERS = 40
POLL_SECONDS = 0.02
GIVE_UP_SECONDS = 120.0


async def _like_count(http: httpx.AsyncClient, author_token: str, tweet_id: str) -> int:
    r = await http.get("/v1/notifications", params={"pageSize": 5},
                       headers={"Authorization": f"Bearer {author_token}"})
    r.raise_for_status()
    for group in r.json().get("groups", []):
        if group["kind"] == "NOTIFICATION_KIND_LIKE" and group["targetId"] == tweet_id:
            return int(group["actorCount"])
    return 0


async def _new_tweet(http: httpx.AsyncClient, author: dict[str, str]) -> str:
    r = await http.post("/v1/tweets", json={"content": f"popular {uuid.uuid4().hex[:8]}"},
                        headers={"Authorization": f"Bearer {author['token']}"})
    r.raise_for_status()
    tweet_id: str = r.json()["tweet"]["tweetId"]
    return tweet_id


async def _until_shown(http: httpx.AsyncClient, author: dict[str, str], tweet_id: str,
                       expected: int) -> float | None:
    """When the group first showed `expected` likes (perf_counter); None if never."""
    since = time.perf_counter()
    while time.perf_counter() - since < GIVE_UP_SECONDS:
        if await _like_count(http, author["token"], tweet_id) >= expected:
            return time.perf_counter()
        await asyncio.sleep(POLL_SECONDS)
    return None


def _lines(label: str, n: int, started: float, ended: float, shown: float | None) -> list[str]:
    burst = ended - started
    if shown is None:
        return [f"{'fan-in (' + label + ')':<42} not all {n} shown after {GIVE_UP_SECONDS:.0f} s"]
    return [
        f"{'fan-in (' + label + '): burst':<42} {n} likes in {burst:.2f} s ({n / burst:.0f}/s)",
        f"{'fan-in (' + label + '): final count shown':<42} {shown - ended:.2f} s after the"
        f" burst, {shown - started:.2f} s after the first like"]


async def fan_in_events(edge_url: str, nats_url: str, author: dict[str, str]) -> list[str]:
    async with httpx.AsyncClient(base_url=edge_url, timeout=60) as http:
        tweet_id = await _new_tweet(http, author)
        nc, js = await jetstream.connect(nats_url, name="notifications-bench")
        first = 7 * 10**17 + int(time.time() * 1000) % 10**12 * 1000
        started = time.perf_counter()

        async def publish(n: int) -> None:
            at = Timestamp()
            at.GetCurrentTime()
            event = events_pb2.TweetLiked(
                event_id=uuid.uuid4().hex, occurred_at=at, tweet_id=int(tweet_id),
                author_user_id=int(author["id"]), user_id=first + n, like_count=n + 1)
            await jetstream.publish(js, jetstream.make_event(event))

        await asyncio.gather(*(publish(n) for n in range(LIKES)))
        ended = time.perf_counter()
        await nc.close()
        shown = await _until_shown(http, author, tweet_id, LIKES)
    return _lines("events on the stream", LIKES, started, ended, shown)


async def fan_in(edge_url: str, author: dict[str, str], tokens: list[str]) -> list[str]:
    async with httpx.AsyncClient(base_url=edge_url, timeout=60) as http:
        tweet_id = await _new_tweet(http, author)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def like(token: str) -> None:
            async with gate:
                answer = await http.post(f"/v1/tweets/{tweet_id}/like", json={},
                                         headers={"Authorization": f"Bearer {token}"})
                answer.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(like(t) for t in tokens))
        ended = time.perf_counter()
        shown = await _until_shown(http, author, tweet_id, len(tokens))
    return _lines("likes via the edge", len(tokens), started, ended, shown)


def bench_unread(edge_url: str, accounts: list[dict[str, str]]) -> wrk.Result:
    script = wrk.rotating([a["token"] for a in accounts], """
  return wrk.format("GET", "/v1/notifications/unread-count", {["Authorization"] = bearer})""")
    return wrk.run("unread count through the edge", edge_url, script, connections=16)


def run(env: dict[str, str]) -> list[str]:
    edge_url = env["EDGE_URL"]
    accounts = asyncio.run(make_accounts(edge_url, "nbench_", USERS))
    lines = asyncio.run(fan_in(edge_url, accounts[0], synthetic_tokens(env, LIKES)))
    lines += asyncio.run(fan_in_events(edge_url, env["NATS_URL"], accounts[1]))
    return [*lines, bench_unread(edge_url, accounts).line()]
