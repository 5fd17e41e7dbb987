"""Blocks and mutes through the edge, for the e2e tests."""

from __future__ import annotations

import httpx

from tests.support.users import User


async def relate(edge: httpx.AsyncClient, who: User, other: User, kind: str, *,
                 on: bool = True) -> None:
    """`who` blocks (kind "block") or mutes ("mute") `other`, or lifts it."""
    path = f"/v1/users/{other['username']}/{kind}"
    r = await (edge.post(path, json={}, headers=who["headers"]) if on
               else edge.delete(path, headers=who["headers"]))
    assert r.status_code == 200, r.text
    assert r.json()["user"]["userId"] == other["userId"]


async def profile(edge: httpx.AsyncClient, viewer: User, user: User) -> httpx.Response:
    return await edge.get(f"/v1/users/{user['userId']}", headers=viewer["headers"])


async def reply(edge: httpx.AsyncClient, who: User, tweet_id: str,
                content: str = "a reply") -> httpx.Response:
    return await edge.post("/v1/tweets", json={"content": content, "replyToTweetId": tweet_id},
                           headers=who["headers"])


async def search_ids(edge: httpx.AsyncClient, viewer: User, q: str) -> list[str]:
    r = await edge.get("/v1/search/tweets", params={"q": q}, headers=viewer["headers"])
    assert r.status_code == 200, r.text
    return [t["tweetId"] for t in r.json().get("tweets", [])]
