"""Blocks and mutes through the edge (issue 20): every rule, enforced by the
services, seen from the blocked user, the blocker and the muter."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.blocks import profile, relate, reply, search_ids
from tests.support.edge import assert_error, follow, home_ids, tweet
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


def word() -> str:
    """A word no other tweet has, to search for."""
    return f"w{uuid.uuid4().hex[:12]}"


async def counts(edge: httpx.AsyncClient, user: User) -> tuple[int, int]:
    r = await edge.get(f"/v1/users/{user['userId']}", headers=user["headers"])
    assert r.status_code == 200, r.text
    body = r.json()["user"]
    return int(body.get("followerCount", 0)), int(body.get("followingCount", 0))


async def test_block_removes_follows_both_ways_with_exact_counts(
        edge: httpx.AsyncClient) -> None:
    blocker, blocked = await new_user(edge), await new_user(edge)
    await follow(edge, blocker, blocked)
    await follow(edge, blocked, blocker)
    assert await counts(edge, blocker) == (1, 1)

    await relate(edge, blocker, blocked, "block")
    await relate(edge, blocker, blocked, "block")  # idempotent
    assert await counts(edge, blocker) == (0, 0)
    r = await edge.get(f"/v1/users/{blocked['userId']}/following", headers=blocked["headers"])
    assert r.json().get("following", []) == []

    # Neither may follow the other while the block stands: to the blocked user
    # the blocker is absent (404), the blocker is told why (403).
    for fan, star, status, code in ((blocked, blocker, 404, 5), (blocker, blocked, 403, 7)):
        r = await edge.post(f"/v1/users/{fan['userId']}/follow",
                            json={"targetUserId": star["userId"]}, headers=fan["headers"])
        assert_error(r, status, code)
    assert await counts(edge, blocker) == (0, 0)

    await relate(edge, blocker, blocked, "block", on=False)
    await follow(edge, blocked, blocker)  # allowed again; the old follows stay gone
    assert await counts(edge, blocker) == (1, 0)


async def test_blocked_user_cannot_see_or_reach_the_blocker(edge: httpx.AsyncClient) -> None:
    blocker, blocked = await new_user(edge), await new_user(edge)
    tweet_id = await tweet(edge, blocker, "mine")
    await relate(edge, blocker, blocked, "block")

    assert_error(await profile(edge, blocked, blocker), 404, 5)
    r = await edge.get(f"/v1/users/by-username/{blocker['username']}",
                       headers=blocked["headers"])
    assert_error(r, 404, 5)
    r = await edge.get(f"/v1/users/{blocker['userId']}/tweets", headers=blocked["headers"])
    assert r.status_code == 200, r.text
    assert r.json().get("tweets", []) == []  # as for a user who does not exist
    for path in (f"/v1/tweets/{tweet_id}",
                 f"/v1/tweets/{tweet_id}/replies", f"/v1/tweets/{tweet_id}/likes",
                 f"/v1/users/{blocker['userId']}/followers"):
        assert_error(await edge.get(path, headers=blocked["headers"]), 404, 5)
    assert_error(await reply(edge, blocked, tweet_id), 404, 5)
    assert_error(await edge.post(f"/v1/tweets/{tweet_id}/like", json={},
                                 headers=blocked["headers"]), 404, 5)
    assert_error(await edge.post(f"/v1/tweets/{tweet_id}/retweet", json={},
                                 headers=blocked["headers"]), 404, 5)
    r = await edge.post("/v1/messages", json={"recipientUserId": blocker["userId"],
                                              "content": "hi"}, headers=blocked["headers"])
    assert_error(r, 404, 5)  # as if the blocker did not exist (issue 31)

    # The blocker still sees the blocked user's profile (to unblock them), and
    # everyone else still sees the blocker.
    assert (await profile(edge, blocker, blocked)).status_code == 200
    bystander = await new_user(edge)
    assert (await edge.get(f"/v1/tweets/{tweet_id}",
                           headers=bystander["headers"])).status_code == 200

    await relate(edge, blocker, blocked, "block", on=False)
    assert (await profile(edge, blocked, blocker)).status_code == 200
    assert (await reply(edge, blocked, tweet_id)).status_code == 200


async def test_blocker_no_longer_sees_the_blocked_user(edge: httpx.AsyncClient) -> None:
    blocker, blocked, friend = (await new_user(edge), await new_user(edge),
                                await new_user(edge))
    for star in (blocked, friend):
        await follow(edge, blocker, star)
    assert await home_ids(edge, blocker) == []
    marker = word()
    own = await tweet(edge, blocked, f"by the blocked {marker}")
    parent = await tweet(edge, blocker, "a thread")
    r = await reply(edge, blocked, parent, "a reply by the blocked")
    reply_id = r.json()["tweet"]["tweetId"]
    mention = await tweet(edge, blocked, f"hey @{blocker['username']}")
    r = await edge.post(f"/v1/tweets/{own}/retweet", json={}, headers=friend["headers"])
    retweet = r.json()["tweet"]["tweetId"]

    async def in_home() -> bool:
        return {own, retweet} <= set(await home_ids(edge, blocker))
    await eventually(in_home, within=5.0)

    async def searchable() -> bool:
        return own in await search_ids(edge, friend, marker)
    await eventually(searchable, within=5.0)

    await relate(edge, blocker, blocked, "block")

    home = await home_ids(edge, blocker)
    assert own not in home
    assert retweet not in home  # nor retweets of their tweets
    assert mention not in await home_ids(edge, blocker, "/mentions")
    assert own not in await search_ids(edge, blocker, marker)
    r = await edge.get(f"/v1/tweets/{parent}/replies", headers=blocker["headers"])
    assert reply_id not in [t["tweetId"] for t in r.json().get("replies", [])]
    r = await edge.get("/v1/search/users", params={"q": blocked["username"]},
                       headers=blocker["headers"])
    assert blocked["userId"] not in [u["userId"] for u in r.json().get("users", [])]
    r = await edge.post("/v1/messages", json={"recipientUserId": blocked["userId"],
                                              "content": "hi"}, headers=blocker["headers"])
    assert_error(r, 403, 7)
    assert_error(await edge.post(f"/v1/tweets/{own}/like", json={},
                                 headers=blocker["headers"]), 403, 7)

    r = await edge.get("/v1/me/blocks", headers=blocker["headers"])
    assert [e["user"]["userId"] for e in r.json()["blocks"]] == [blocked["userId"]]


async def test_mute_hides_tweets_from_home_and_mentions_only(edge: httpx.AsyncClient) -> None:
    muter, muted = await new_user(edge), await new_user(edge)
    await follow(edge, muter, muted)
    assert await home_ids(edge, muter) == []
    own = await tweet(edge, muted, "muted words")
    mention = await tweet(edge, muted, f"hello @{muter['username']}")

    async def arrived() -> bool:
        return own in await home_ids(edge, muter) and \
            mention in await home_ids(edge, muter, "/mentions")
    await eventually(arrived, within=5.0)

    await relate(edge, muter, muted, "mute")
    assert own not in await home_ids(edge, muter)
    assert mention not in await home_ids(edge, muter, "/mentions")
    later = await tweet(edge, muted, "still muted")
    # The muted user is told nothing: the follow stands, both ways work.
    assert await counts(edge, muted) == (1, 0)
    assert (await profile(edge, muted, muter)).status_code == 200
    assert (await edge.get(f"/v1/tweets/{own}", headers=muter["headers"])).status_code == 200
    r = await edge.get("/v1/me/mutes", headers=muter["headers"])
    assert [e["user"]["userId"] for e in r.json()["mutes"]] == [muted["userId"]]

    await relate(edge, muter, muted, "mute", on=False)

    async def back() -> bool:
        return {own, later} <= set(await home_ids(edge, muter))
    await eventually(back, within=5.0)


async def test_block_and_mute_input_errors(edge: httpx.AsyncClient) -> None:
    me = await new_user(edge)
    r = await edge.post(f"/v1/users/{me['username']}/block", json={}, headers=me["headers"])
    assert_error(r, 400, 3)
    r = await edge.post("/v1/users/nosuchuser_zz9/mute", json={}, headers=me["headers"])
    assert_error(r, 404, 5)
    r = await edge.post("/v1/users/bad%20name/block", json={}, headers=me["headers"])
    assert_error(r, 400, 3)


async def test_the_blocker_is_absent_from_third_parties_lists(edge: httpx.AsyncClient) -> None:
    """Issue 31, finding 6: not even a bystander's follower or following list
    shows the blocker to the user they block; to everyone else it does."""
    blocker, blocked, friend = (await new_user(edge), await new_user(edge),
                                await new_user(edge))
    await follow(edge, blocker, friend)
    await follow(edge, friend, blocker)
    await relate(edge, blocker, blocked, "block")

    async def listed(viewer: User, kind: str) -> list[str]:
        r = await edge.get(f"/v1/users/{friend['userId']}/{kind}", headers=viewer["headers"])
        assert r.status_code == 200, r.text
        return [e["user"]["userId"] for e in r.json().get(kind, [])]

    for kind in ("followers", "following"):
        assert await listed(blocked, kind) == []
        assert await listed(friend, kind) == [blocker["userId"]]
