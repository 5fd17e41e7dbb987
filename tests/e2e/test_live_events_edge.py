"""Live streams as Server-Sent Events through the edge (GET .../events): what
an SSE client (httpx-sse, which follows the WHATWG parsing rules) receives
(update, delete and notification events), the same data as the NDJSON
stream, heartbeats, Last-Event-ID, blocks and mutes, and who is refused; and
the NDJSON routes' real Content-Type."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from services.shared.streaming.live_events import RETRY_MS
from tests.support.blocks import relate
from tests.support.edge import assert_error, follow, home_ids, tweet
from tests.support.streams import Message, SseEvent, listen, listen_sse
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def sse(edge_url: str, path: str, user: User, until: Callable[[SseEvent], bool],
              **headers: str) -> AsyncIterator[tuple[list[SseEvent], asyncio.Task[None]]]:
    """An SSE stream read in the background, open (registered) on entry."""
    received: list[SseEvent] = []
    opened = asyncio.Event()
    task = asyncio.create_task(listen_sse(edge_url, path, user["headers"] | headers,
                                          received, opened, until))
    try:
        await asyncio.wait_for(opened.wait(), timeout=10)
        yield received, task
    finally:
        task.cancel()


async def test_an_update_event_for_a_followed_authors_tweet(edge: httpx.AsyncClient,
                                                            edge_url: str) -> None:
    """The `update` event carries the tweet, its id is the tweet id, and its
    data is exactly the NDJSON stream's entry for the same tweet."""
    reader, author = await new_user(edge), await new_user(edge)
    await follow(edge, reader, author)
    lines: list[Message] = []
    ndjson_open = asyncio.Event()
    ndjson = asyncio.create_task(listen(
        edge_url, f"/v1/timeline/{reader['userId']}/stream", reader["headers"], lines,
        ndjson_open, until=lambda m: "entry" in m))
    async with sse(edge_url, f"/v1/timeline/{reader['userId']}/events", reader,
                   until=lambda e: e.event == "update") as (received, task):
        await asyncio.wait_for(ndjson_open.wait(), timeout=10)
        tweet_id = await tweet(edge, author, "live over SSE")
        await asyncio.wait_for(task, timeout=10)
        await asyncio.wait_for(ndjson, timeout=10)
    update = received[-1]
    assert (update.event, update.id) == ("update", tweet_id)
    assert update.data["tweetId"] == tweet_id
    assert update.data["content"] == "live over SSE"
    assert update.data["author"]["username"] == author["username"]
    assert update.data == lines[-1]["entry"]["tweet"]


async def test_a_delete_event_when_a_followed_author_deletes_a_tweet(
        edge: httpx.AsyncClient, edge_url: str) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    await follow(edge, reader, author)
    tweet_id = await tweet(edge, author, "soon gone")
    lines: list[Message] = []
    ndjson_open = asyncio.Event()
    ndjson = asyncio.create_task(listen(
        edge_url, f"/v1/timeline/{reader['userId']}/stream", reader["headers"], lines,
        ndjson_open, until=lambda m: "deleted" in m))
    async with sse(edge_url, f"/v1/timeline/{reader['userId']}/events", reader,
                   until=lambda e: e.event == "delete") as (received, task):
        await asyncio.wait_for(ndjson_open.wait(), timeout=10)
        r = await edge.delete(f"/v1/tweets/{tweet_id}", headers=author["headers"])
        assert r.status_code == 200, r.text
        await asyncio.wait_for(task, timeout=10)
        await asyncio.wait_for(ndjson, timeout=10)
    assert (received[-1].event, received[-1].data) == ("delete", {"tweetId": tweet_id})
    assert received[-1].id == ""  # no id: resuming from a delete would replay old entries
    assert lines[-1] == {"deleted": {"tweetId": tweet_id}}


async def test_a_notification_event(edge: httpx.AsyncClient, edge_url: str) -> None:
    author, fan = await new_user(edge), await new_user(edge)
    tweet_id = await tweet(edge, author, "like me")
    async with sse(edge_url, "/v1/notifications/events", author,
                   until=lambda e: e.event == "notification") as (received, task):
        r = await edge.post(f"/v1/tweets/{tweet_id}/like", json={}, headers=fan["headers"])
        assert r.status_code == 200, r.text
        await asyncio.wait_for(task, timeout=15)
    event = received[-1]
    group = event.data
    assert (group["kind"], group["targetId"]) == ("NOTIFICATION_KIND_LIKE", tweet_id)
    assert group["recentActors"][0]["username"] == fan["username"]
    assert group["unread"] is True
    assert event.id == group["latestNotificationId"]


async def test_the_stream_opens_with_retry_and_a_heartbeat_comment(
        edge: httpx.AsyncClient, edge_url: str) -> None:
    """What the wire carries before any event: the reconnection delay and a
    heartbeat comment (sent at once: it tells proxies and the client that
    the stream is registered; then every STREAM_HEARTBEAT_SECONDS, which
    tests/integration/test_live_events.py checks with a short interval)."""
    user = await new_user(edge)
    for path in (f"/v1/timeline/{user['userId']}/events", "/v1/notifications/events"):
        async with httpx.AsyncClient(base_url=edge_url, timeout=10) as client, \
                client.stream("GET", path, headers=user["headers"]) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            first = await anext(response.aiter_text())
        assert first == f"retry: {RETRY_MS}\n:heartbeat\n\n", (path, first)


async def test_reconnecting_with_last_event_id_sends_what_was_missed_first(
        edge: httpx.AsyncClient, edge_url: str) -> None:
    reader, author = await new_user(edge), await new_user(edge)
    await follow(edge, reader, author)
    seen = await tweet(edge, author, "seen before the disconnect")
    missed = [await tweet(edge, author, f"missed {n}") for n in range(2)]

    async def fanned_out() -> bool:
        return set(missed) <= set(await home_ids(edge, reader))
    await eventually(fanned_out, within=10, what="the missed tweets on the home timeline")
    async with sse(edge_url, f"/v1/timeline/{reader['userId']}/events", reader,
                   until=lambda e: e.id == missed[-1], **{"Last-Event-ID": seen}
                   ) as (received, task):
        await asyncio.wait_for(task, timeout=10)
    assert [e.id for e in received] == missed  # oldest first, nothing before the id

    # The same for notifications: the follow group (the reader's and the
    # fan's follows) changed after the id given.
    fan = await new_user(edge)
    await follow(edge, fan, author)

    async def follow_group() -> Any:
        r = await edge.get("/v1/notifications", headers=author["headers"])
        return [g for g in r.json()["groups"] if g["kind"] == "NOTIFICATION_KIND_FOLLOW"
                and fan["userId"] in g["recentActorIds"]]
    group = (await eventually(follow_group, within=10, what="the follow notification"))[0]
    before = str(int(group["latestNotificationId"]) - 1)
    async with sse(edge_url, "/v1/notifications/events", author,
                   until=lambda e: e.event == "notification", **{"Last-Event-ID": before}
                   ) as (events, task):
        await asyncio.wait_for(task, timeout=10)
    assert events[0].data["groupKey"] == group["groupKey"]
    assert events[0].id == group["latestNotificationId"]


async def test_muted_and_blocked_authors_are_left_out(edge: httpx.AsyncClient,
                                                      edge_url: str) -> None:
    reader, muted, blocked, friend = [await new_user(edge) for _ in range(4)]
    for author in (muted, blocked, friend):
        await follow(edge, reader, author)
    await relate(edge, reader, muted, "mute")
    await relate(edge, reader, blocked, "block")  # also ends blocked's follow
    async with sse(edge_url, f"/v1/timeline/{reader['userId']}/events", reader,
                   until=lambda e: e.data["author"]["username"] == friend["username"]
                   ) as (received, task):
        # In this order: NATS delivers a subject's messages in order, so the
        # friend's tweet comes after the others would have.
        await tweet(edge, muted, "muted")
        await tweet(edge, blocked, "blocked")
        last = await tweet(edge, friend, "friend")
        await asyncio.wait_for(task, timeout=10)
    assert [e.id for e in received] == [last]


async def test_who_is_refused(edge: httpx.AsyncClient) -> None:
    alice, bob = await new_user(edge), await new_user(edge)
    own = f"/v1/timeline/{alice['userId']}/events"
    assert_error(await edge.get(own), 401, 16)  # no token
    assert_error(await edge.get("/v1/notifications/events"), 401, 16)
    assert_error(await edge.get(own, headers={"Authorization": "Bearer not.a.token"}), 401, 16)
    refused = await edge.get(own, headers=bob["headers"])  # someone else's timeline
    body = assert_error(refused, 403, 7)
    assert body["status"] == "PERMISSION_DENIED"
    assert refused.headers["content-type"] == "application/json"
    for path in (own, "/v1/notifications/events"):
        bad = await edge.get(path, headers=alice["headers"] | {"Last-Event-ID": "yesterday"})
        assert "Last-Event-ID" in assert_error(bad, 400, 3)["message"]


async def test_ndjson_streams_say_what_they_are(edge: httpx.AsyncClient,
                                                edge_url: str) -> None:
    """application/x-ndjson on an open stream; an error stays application/json."""
    alice, bob = await new_user(edge), await new_user(edge)
    async with httpx.AsyncClient(base_url=edge_url, timeout=10) as client:
        for path in (f"/v1/timeline/{alice['userId']}/stream", "/v1/notifications/stream"):
            async with client.stream("GET", path, headers=alice["headers"]) as response:
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/x-ndjson"
    refused = await edge.get(f"/v1/timeline/{alice['userId']}/stream", headers=bob["headers"])
    assert_error(refused, 403, 7)
    assert refused.headers["content-type"] == "application/json"
