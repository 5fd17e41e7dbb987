"""Notifications through the Envoy edge: every kind made from the real events
of the users and tweets services by the real worker, grouping, withdrawal,
unread counts, read positions, paging, the live stream, self-actions and who
may read what."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from twitter.tweets.v1 import events_pb2 as tweet_events

from tests.support.edge import assert_error, follow, tweet
from tests.support.events import handled
from tests.support.notifications import (
    NOTIFICATIONS,
    find,
    gone,
    group_when,
    groups,
    mark_read,
    unread,
)
from tests.support.streams import listen
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


async def users(edge: httpx.AsyncClient, n: int) -> list[User]:
    return list(await asyncio.gather(*(new_user(edge) for _ in range(n))))


async def call(edge: httpx.AsyncClient, method: str, path: str, user: User,
               body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await edge.request(method, path, json=body, headers=user["headers"])
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


async def like(edge: httpx.AsyncClient, user: User, tweet_id: str) -> None:
    await call(edge, "POST", f"/v1/tweets/{tweet_id}/like", user, {})


async def reply(edge: httpx.AsyncClient, user: User, to: str, content: str) -> str:
    body = await call(edge, "POST", "/v1/tweets", user,
                      {"content": content, "replyToTweetId": to})
    tweet_id: str = body["tweet"]["tweetId"]
    return tweet_id


async def test_follows_group_and_an_unfollow_takes_its_part_back(
        edge: httpx.AsyncClient) -> None:
    star, *fans = await users(edge, 4)
    for fan in fans:
        await follow(edge, fan, star)
    group = await group_when(edge, star, "FOLLOW", star["userId"], 3)
    assert group["recentActorIds"] == [f["userId"] for f in reversed(fans)]  # newest first
    assert [a["username"] for a in group["recentActors"]] == [
        f["username"] for f in reversed(fans)]  # "c, b and a followed you"
    assert group["unread"] is True
    await call(edge, "DELETE", f"/v1/users/{fans[0]['userId']}/follow/{star['userId']}",
               fans[0])
    group = await group_when(edge, star, "FOLLOW", star["userId"], 2)
    assert fans[0]["userId"] not in group["recentActorIds"]


async def test_likes_group_per_tweet_and_unlikes_empty_the_group(
        edge: httpx.AsyncClient) -> None:
    author, *fans = await users(edge, 4)
    first, second = await tweet(edge, author, "one"), await tweet(edge, author, "two")
    for fan in fans:
        await like(edge, fan, first)
    await like(edge, fans[0], second)
    group = await group_when(edge, author, "LIKE", first, 3)
    assert group["groupKey"].startswith(f"like:{first}:")
    await group_when(edge, author, "LIKE", second, 1)
    for fan in fans[:2]:
        await call(edge, "DELETE", f"/v1/tweets/{first}/like", fan)
    group = await group_when(edge, author, "LIKE", first, 1)
    assert group["recentActorIds"] == [fans[2]["userId"]]
    await call(edge, "DELETE", f"/v1/tweets/{first}/like", fans[2])
    await gone(edge, author, "LIKE", first)
    assert find((await groups(edge, author))["groups"], "LIKE", second)


async def test_retweets_group_and_an_unretweet_withdraws(edge: httpx.AsyncClient) -> None:
    author, a, b = await users(edge, 3)
    tweet_id = await tweet(edge, author, "worth sharing")
    for fan in (a, b):
        await call(edge, "POST", f"/v1/tweets/{tweet_id}/retweet", fan, {})
    await group_when(edge, author, "RETWEET", tweet_id, 2)
    for fan in (a, b):
        await call(edge, "DELETE", f"/v1/tweets/{tweet_id}/retweet", fan)
    await gone(edge, author, "RETWEET", tweet_id)


async def test_a_mention_notifies_and_deleting_the_tweet_withdraws_it(
        edge: httpx.AsyncClient) -> None:
    author, bob, carol = await users(edge, 3)
    tweet_id = await tweet(edge, author, f"hi @{bob['username']} and @{carol['username']}")
    for user in (bob, carol):
        group = await group_when(edge, user, "MENTION", tweet_id, 1)
        assert group["recentActorIds"] == [author["userId"]]
    await call(edge, "DELETE", f"/v1/tweets/{tweet_id}", author)
    for user in (bob, carol):
        await gone(edge, user, "MENTION", tweet_id)


async def test_an_edit_notifies_users_it_newly_mentions(edge: httpx.AsyncClient) -> None:
    author, bob, carol = await users(edge, 3)
    tweet_id = await tweet(edge, author, f"hello @{bob['username']}")
    await group_when(edge, bob, "MENTION", tweet_id, 1)
    await call(edge, "PATCH", f"/v1/tweets/{tweet_id}", author,
               {"content": f"hello @{carol['username']}"})
    await group_when(edge, carol, "MENTION", tweet_id, 1)
    await gone(edge, bob, "MENTION", tweet_id)


async def test_a_reply_notifies_the_parent_author_once(edge: httpx.AsyncClient) -> None:
    author, replier, other = await users(edge, 3)
    parent = await tweet(edge, author, "a question")
    # A reply usually @mentions the author too: that is one reply notification.
    answer = await reply(edge, replier, parent,
                         f"@{author['username']} an answer, cc @{other['username']}")
    await group_when(edge, author, "REPLY", answer, 1)
    await group_when(edge, other, "MENTION", answer, 1)
    assert find((await groups(edge, author))["groups"], "MENTION", answer) is None
    await call(edge, "DELETE", f"/v1/tweets/{answer}", replier)
    await gone(edge, author, "REPLY", answer)
    await gone(edge, other, "MENTION", answer)


async def test_deleting_a_tweet_withdraws_its_likes_and_retweets(
        edge: httpx.AsyncClient) -> None:
    author, fan = await users(edge, 2)
    tweet_id = await tweet(edge, author, "soon gone")
    await like(edge, fan, tweet_id)
    await call(edge, "POST", f"/v1/tweets/{tweet_id}/retweet", fan, {})
    await group_when(edge, author, "LIKE", tweet_id, 1)
    await group_when(edge, author, "RETWEET", tweet_id, 1)
    await call(edge, "DELETE", f"/v1/tweets/{tweet_id}", author)
    await gone(edge, author, "LIKE", tweet_id)
    await gone(edge, author, "RETWEET", tweet_id)
    assert await unread(edge, author) == 0


async def test_own_actions_never_notify(edge: httpx.AsyncClient,
                                        stack_env: dict[str, str]) -> None:
    me, fan = await users(edge, 2)
    mine = await tweet(edge, me, f"note to self @{me['username']}")
    await reply(edge, me, mine, "and a reply to myself")
    await call(edge, "POST", f"/v1/tweets/{mine}/retweet", me, {})
    await like(edge, me, mine)

    def my_like(event: tweet_events.TweetLiked) -> bool:
        return str(event.tweet_id) == mine and str(event.user_id) == me["userId"]

    # The worker has handled my like (the last of my actions) ...
    await handled(stack_env["NATS_URL"], NOTIFICATIONS, tweet_events.TweetLiked, my_like)
    await like(edge, fan, mine)
    # ... and someone else's like shows while mine never did.
    group = await group_when(edge, me, "LIKE", mine, 1)
    assert group["recentActorIds"] == [fan["userId"]]
    assert [g["groupKey"] for g in (await groups(edge, me))["groups"]] == [group["groupKey"]]


async def test_blocked_and_muted_users_neither_notify_nor_show(
        edge: httpx.AsyncClient) -> None:
    me, blocked, muted, fan = await users(edge, 4)
    mine = await tweet(edge, me, "mine")
    await like(edge, muted, mine)
    await group_when(edge, me, "LIKE", mine, 1)
    for other, relation in ((blocked, "block"), (muted, "mute")):
        await call(edge, "POST", f"/v1/users/{other['username']}/{relation}", me, {})
    # Stored before the mute: hidden at read, and not counted unread.
    await gone(edge, me, "LIKE", mine)
    assert await unread(edge, me) == 0
    # Made after: a muted user's mention makes none; someone else's like shows.
    muted_says = await tweet(edge, muted, f"hey @{me['username']}")
    await like(edge, fan, mine)
    group = await group_when(edge, me, "LIKE", mine, 1)
    assert group["recentActorIds"] == [fan["userId"]]
    assert find((await groups(edge, me))["groups"], "MENTION", muted_says) is None
    # Unmuted: what was stored shows again.
    await call(edge, "DELETE", f"/v1/users/{muted['username']}/mute", me)
    group = await group_when(edge, me, "LIKE", mine, 2)
    assert group["recentActorIds"] == [fan["userId"], muted["userId"]]


async def test_unread_count_and_mark_read(edge: httpx.AsyncClient) -> None:
    author, a, b = await users(edge, 3)
    first, second = await tweet(edge, author, "first"), await tweet(edge, author, "second")
    await like(edge, a, first)
    older = await group_when(edge, author, "LIKE", first, 1)
    await like(edge, b, second)
    newer = await group_when(edge, author, "LIKE", second, 1)
    assert await unread(edge, author) == 2

    r = await mark_read(edge, author, older["latestNotificationId"])
    assert r.status_code == 200, r.text
    assert r.json()["unreadCount"] == 1
    assert r.json()["lastReadNotificationId"] == older["latestNotificationId"]
    listed = (await groups(edge, author))["groups"]
    assert [g.get("unread", False) for g in listed] == [True, False]

    r = await mark_read(edge, author, newer["latestNotificationId"])
    assert r.json().get("unreadCount", 0) == 0
    # Never backwards: an older id leaves the position where it is.
    r = await mark_read(edge, author, older["latestNotificationId"])
    assert r.json()["lastReadNotificationId"] == newer["latestNotificationId"]
    assert r.json().get("unreadCount", 0) == 0

    # New activity on a read group makes it unread again, and moves it to the top.
    await like(edge, b, first)
    await group_when(edge, author, "LIKE", first, 2)
    assert await unread(edge, author) == 1
    top = (await groups(edge, author))["groups"][0]
    assert top["targetId"] == first
    assert top["unread"] is True

    r = await mark_read(edge, author)  # everything up to now
    assert r.json().get("unreadCount", 0) == 0
    assert_error(await mark_read(edge, author, "-1"), 400, 3)


async def test_pages_newest_first_without_gaps(edge: httpx.AsyncClient) -> None:
    author, bob, carol = await users(edge, 3)
    tweet_ids = [await tweet(edge, author, f"@{bob['username']} {n}") for n in range(5)]
    await group_when(edge, bob, "MENTION", tweet_ids[-1], 1)

    async def all_five() -> list[str] | None:
        found = [g["targetId"] for g in (await groups(edge, bob))["groups"]]
        return found if len(found) == 5 else None
    await eventually(all_five, within=10)

    seen: list[str] = []
    token = ""
    while True:
        page = await groups(edge, bob, pageSize=2, pageToken=token)
        assert len(page["groups"]) <= 2
        seen += [g["targetId"] for g in page["groups"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert seen == list(reversed(tweet_ids))
    # A token is Bob's: Carol's list refuses it.
    first = await groups(edge, bob, pageSize=2)
    r = await edge.get("/v1/notifications", params={"pageToken": first["nextPageToken"]},
                       headers=carol["headers"])
    assert_error(r, 400, 3)


async def test_live_stream_delivers_a_new_group(edge: httpx.AsyncClient,
                                                edge_url: str) -> None:
    author, fan = await users(edge, 2)
    tweet_id = await tweet(edge, author, "live")
    received: list[dict[str, Any]] = []
    opened = asyncio.Event()  # the first heartbeat: the stream is registered
    listener = asyncio.create_task(listen(
        edge_url, "/v1/notifications/stream", author["headers"], received, opened,
        until=lambda message: "group" in message))
    await asyncio.wait_for(opened.wait(), timeout=5)
    await like(edge, fan, tweet_id)
    await asyncio.wait_for(listener, timeout=10)
    assert "heartbeat" in received[0]
    group = received[-1]["group"]
    assert group["kind"] == "NOTIFICATION_KIND_LIKE"
    assert group["targetId"] == tweet_id
    assert group["actorCount"] == 1
    assert group["recentActorIds"] == [fan["userId"]]
    assert group["unread"] is True
    assert group["recentActors"][0]["username"] == fan["username"]


async def test_each_user_reads_only_their_own(edge: httpx.AsyncClient) -> None:
    author, fan, stranger = await users(edge, 3)
    tweet_id = await tweet(edge, author, "mine")
    await like(edge, fan, tweet_id)
    await group_when(edge, author, "LIKE", tweet_id, 1)
    assert (await groups(edge, stranger)).get("groups", []) == []
    assert await unread(edge, stranger) == 0
    for method, path in (("GET", "/v1/notifications"),
                         ("GET", "/v1/notifications/unread-count"),
                         ("POST", "/v1/notifications/read"),
                         ("GET", "/v1/notifications/stream")):
        r = await edge.request(method, path, json={} if method == "POST" else None)
        assert_error(r, 401, 16)
    # The request names no user: a user id in the query is refused, not obeyed.
    r = await edge.get("/v1/notifications", params={"userId": author["userId"]},
                       headers=stranger["headers"])
    assert_error(r, 400, 3)
