"""Pinned tweets (issue 35) through the Envoy edge: pin, replace, unpin, shown
with the profile, gone with the tweet."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.edge import assert_error, tweet
from tests.support.users import User, new_user

pytestmark = pytest.mark.e2e


async def profile(edge: httpx.AsyncClient, viewer: User, user: User) -> dict[str, Any]:
    r = await edge.get(f"/v1/users/{user['userId']}", headers=viewer["headers"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["user"]
    return body


def pin(edge: httpx.AsyncClient, user: User, tweet_id: str) -> Any:
    return edge.put(f"/v1/users/{user['userId']}/pinned-tweet", json={"tweetId": tweet_id},
                    headers=user["headers"])


async def test_a_pinned_tweet_shows_with_the_profile_and_goes_with_the_tweet(
        edge: httpx.AsyncClient) -> None:
    owner, viewer = await new_user(edge), await new_user(edge)
    first, second = await tweet(edge, owner, "first"), await tweet(edge, owner, "second")
    for tweet_id in (first, second):
        r = await pin(edge, owner, tweet_id)
        assert r.status_code == 200, r.text
        assert r.json()["user"]["pinnedTweetId"] == tweet_id
    assert (await profile(edge, viewer, owner))["pinnedTweetId"] == second
    r = await edge.get(f"/v1/users/by-username/{owner['username']}", headers=viewer["headers"])
    assert r.json()["user"]["pinnedTweetId"] == second
    await edge.delete(f"/v1/tweets/{second}", headers=owner["headers"])
    assert (await profile(edge, viewer, owner)).get("pinnedTweetId", "0") == "0"
    assert (await pin(edge, owner, first)).status_code == 200
    for _ in range(2):
        r = await edge.delete(f"/v1/users/{owner['userId']}/pinned-tweet",
                              headers=owner["headers"])
        assert r.status_code == 200, r.text
    assert (await profile(edge, viewer, owner)).get("pinnedTweetId", "0") == "0"


async def test_someone_elses_tweet_or_a_retweet_cannot_be_pinned(edge: httpx.AsyncClient) -> None:
    owner, other = await new_user(edge), await new_user(edge)
    theirs = await tweet(edge, other, "theirs")
    assert_error(await pin(edge, owner, theirs), 403, 7)
    retweet = (await edge.post(f"/v1/tweets/{theirs}/retweet", json={},
                               headers=owner["headers"])).json()["tweet"]["tweetId"]
    assert_error(await pin(edge, owner, retweet), 412, 9)
    assert_error(await pin(edge, owner, "8" * 18), 404, 5)
    assert_error(await edge.put(f"/v1/users/{other['userId']}/pinned-tweet",
                                json={"tweetId": theirs}, headers=owner["headers"]), 403, 7)
    assert_error(await edge.put(f"/v1/users/{owner['userId']}/pinned-tweet", json={},
                                headers=owner["headers"]), 400, 3)
