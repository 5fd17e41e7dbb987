"""Home and mentions timelines through the edge: fanout on write, celebrity
merge on read, deletes, unfollows, rebuilds and the live stream."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from twitter.tweets.v1 import events_pb2

from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.timeline.domain import Entry
from services.timeline.settings import TimelineSettings
from services.timeline.store import CELEBRITIES, active_key, home_key
from tests.support.bulk import load_followers
from tests.support.edge import follow, home_ids, tweet
from tests.support.events import TIMELINE_TWEETS, handled
from tests.support.streams import listen
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e

# The local stack runs the timeline with its default threshold.
CELEBRITY_THRESHOLD: int = TimelineSettings.model_fields["celebrity_threshold"].default


@pytest.fixture
async def redis(stack_env: dict[str, str]) -> Any:
    client = redis_client.connect(stack_env["REDIS_URL"])
    yield client
    await client.aclose()


async def test_followed_tweet_reaches_home_within_two_seconds(edge: httpx.AsyncClient) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    assert await home_ids(edge, reader) == []  # an active reader, materialised timeline
    await follow(edge, reader, author)
    tweet_id = await tweet(edge, author, "hello followers")

    async def arrived() -> bool:
        return tweet_id in await home_ids(edge, reader)
    await eventually(arrived, within=2.0)
    body = (await edge.get(f"/v1/timeline/{reader['userId']}",
                           headers=reader["headers"])).json()
    first = body["entries"][0]["tweet"]
    assert first["author"]["username"] == author["username"]
    assert first["content"] == "hello followers"


async def test_timeline_is_private(edge: httpx.AsyncClient) -> None:
    a, b = await new_user(edge), await new_user(edge)
    r = await edge.get(f"/v1/timeline/{b['userId']}", headers=a["headers"])
    assert r.status_code == 403, r.text


async def test_delete_and_unfollow_remove_entries(edge: httpx.AsyncClient) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    await home_ids(edge, reader)
    await follow(edge, reader, author)
    doomed = await tweet(edge, author, "soon gone")
    kept = await tweet(edge, author, "still here")

    async def both() -> bool:
        return {doomed, kept} <= set(await home_ids(edge, reader))
    await eventually(both)
    r = await edge.delete(f"/v1/tweets/{doomed}", headers=author["headers"])
    assert r.status_code == 200, r.text
    assert doomed not in await home_ids(edge, reader)  # never shown once deleted

    r = await edge.delete(f"/v1/users/{reader['userId']}/follow/{author['userId']}",
                          headers=reader["headers"])
    assert r.status_code == 200, r.text

    async def gone() -> bool:
        return kept not in await home_ids(edge, reader)
    await eventually(gone)


async def test_follow_brings_recent_tweets(edge: httpx.AsyncClient) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    older = await tweet(edge, author, "posted before the follow")
    await home_ids(edge, reader)
    await follow(edge, reader, author)

    async def backfilled() -> bool:
        return older in await home_ids(edge, reader)
    await eventually(backfilled)


async def test_mentions_timeline(edge: httpx.AsyncClient) -> None:
    mentioned, author = await new_user(edge), await new_user(edge)
    tweet_id = await tweet(edge, author, f"hey @{mentioned['username']} look")

    async def mentioned_in() -> bool:
        return tweet_id in await home_ids(edge, mentioned, "/mentions")
    await eventually(mentioned_in)


async def test_returning_inactive_user_gets_a_rebuilt_timeline(
        edge: httpx.AsyncClient, redis: RedisClient) -> None:
    reader, a, b = await new_user(edge), await new_user(edge), await new_user(edge)
    await follow(edge, reader, a)
    await follow(edge, reader, b)
    posted = [await tweet(edge, a, "from a"), await tweet(edge, b, "from b")]
    await home_ids(edge, reader)
    # Inactivity expired and the cache was evicted (or Redis flushed).
    reader_id = int(reader["userId"])
    await redis.delete(active_key(reader_id), home_key(reader_id))
    ids = await home_ids(edge, reader)
    assert ids[:2] == list(reversed(posted))


async def test_celebrity_tweets_are_merged_at_read_time(
        edge: httpx.AsyncClient, redis: RedisClient, stack_env: dict[str, str]) -> None:
    star, fan = await new_user(edge), await new_user(edge)
    fake_fans = await asyncio.to_thread(load_followers, stack_env["PG_DSN"],
                                        int(star["userId"]), CELEBRITY_THRESHOLD + 1)
    await redis.set(active_key(fake_fans[0]), "1", ex=600)  # an active fake follower
    await home_ids(edge, fan)
    await follow(edge, fan, star)
    tweet_id = await tweet(edge, star, "to my many fans")

    async def merged() -> bool:
        return tweet_id in await home_ids(edge, fan)
    # A new celebrity reaches the servers' copies of the set within their
    # refresh (CELEBRITY_REFRESH_SECONDS, 1 s) after the worker marks them.
    await eventually(merged, within=10.0)
    # Not fanned out on write: once the fanout worker has handled the tweet's
    # event, the active follower's cache still does not hold it.
    await handled(stack_env["NATS_URL"], TIMELINE_TWEETS, events_pb2.TweetCreated,
                  lambda event: str(event.tweet_id) == tweet_id)
    cached: list[bytes] = await redis.zrange(  # type: ignore[assignment]
        home_key(fake_fans[0]), 0, -1)
    assert int(tweet_id) not in {Entry.parse(m).tweet_id for m in cached}
    assert await redis.sismember(CELEBRITIES, star["userId"])


async def test_live_stream_receives_a_new_tweet(edge: httpx.AsyncClient,
                                                edge_url: str) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    await follow(edge, reader, author)
    received: list[dict[str, Any]] = []
    opened = asyncio.Event()  # the first heartbeat: the stream is registered
    listener = asyncio.create_task(listen(
        edge_url, f"/v1/timeline/{reader['userId']}/stream", reader["headers"], received,
        opened, until=lambda message: "entry" in message))
    await asyncio.wait_for(opened.wait(), timeout=5)
    tweet_id = await tweet(edge, author, "live!")
    await asyncio.wait_for(listener, timeout=5)
    assert "heartbeat" in received[0]
    assert received[-1]["entry"]["tweet"]["tweetId"] == tweet_id


async def test_page_tokens_belong_to_one_users_timeline(edge: httpx.AsyncClient) -> None:
    reader, other, author = await new_user(edge), await new_user(edge), await new_user(edge)
    for fan in (reader, other):
        await follow(edge, fan, author)
    for n in range(4):
        await tweet(edge, author, f"paged {n}")

    async def token(user: User, path: str = "") -> str:
        r = await edge.get(f"/v1/timeline/{user['userId']}{path}?pageSize=1",
                           headers=user["headers"])
        assert r.status_code == 200, r.text
        next_token: str = r.json()["nextPageToken"]
        return next_token

    async def home_with(user: User, page_token: str) -> httpx.Response:
        return await edge.get(f"/v1/timeline/{user['userId']}",
                              params={"pageSize": 1, "pageToken": page_token},
                              headers=user["headers"])

    mine = await token(reader)
    assert (await home_with(reader, mine)).status_code == 200
    forged = {
        "another user's": await token(other),
        "a mentions": base64.urlsafe_b64encode(json.dumps(
            {"u": int(reader["userId"]), "tl": "mentions", "b": 1}).encode()).decode(),
        "a wrong type": base64.urlsafe_b64encode(json.dumps(
            {"u": int(reader["userId"]), "tl": "home", "b": "x"}).encode()).decode(),
        "a tampered": mine[:-3] + "@@@",
        "a non-object": base64.urlsafe_b64encode(b"[1, 2]").decode(),
    }
    for what, bad in forged.items():
        r = await home_with(reader, bad)
        assert r.status_code == 400, f"{what} token: {r.status_code} {r.text}"
        assert r.json()["code"] == 3


async def test_a_renamed_author_shows_at_once_in_timelines_and_tweets(
        edge: httpx.AsyncClient) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    await follow(edge, reader, author)
    tweet_id = await tweet(edge, author, "who wrote this?")

    async def names() -> set[str]:
        home = await edge.get(f"/v1/timeline/{reader['userId']}", headers=reader["headers"])
        one = await edge.get(f"/v1/tweets/{tweet_id}", headers=reader["headers"])
        in_home = {e["tweet"]["author"]["displayName"] for e in home.json()["entries"]
                   if e["tweet"]["tweetId"] == tweet_id}
        return in_home | {one.json()["tweet"]["author"]["displayName"]}

    for _ in range(3):  # every process of both services caches the profile
        assert await names() == {author["displayName"]}
    r = await edge.patch(f"/v1/users/{author['userId']}", json={"displayName": "Renamed"},
                         headers=author["headers"])
    assert r.status_code == 200, r.text

    async def renamed() -> bool:
        return await names() == {"Renamed"}
    # The user-updated event drops the cached profile (it would otherwise live 5 min).
    await eventually(renamed, within=3.0)
