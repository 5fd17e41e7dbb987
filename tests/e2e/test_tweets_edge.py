"""Tweets through the Envoy edge (REST/JSON), real services and Cassandra behind it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from tests.support.edge import assert_error
from tests.support.users import User, new_user

pytestmark = pytest.mark.e2e

async def tweet(edge: httpx.AsyncClient, user: User, content: str = "hello",
                **extra: Any) -> dict[str, Any]:
    response = await edge.post("/v1/tweets", json={"content": content, **extra},
                               headers=user["headers"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["tweet"]
    return body


async def test_create_and_read_with_author_counts_and_entities(edge: httpx.AsyncClient) -> None:
    alice, bob = await new_user(edge), await new_user(edge)
    content = (f"Hi @{bob['username'].upper()} and @nobody_here_xyz! #Launch #launch"
               " https://example.com/docs?a=1.")
    created = await tweet(edge, alice, content)
    assert created["userId"] == alice["userId"]
    assert created["kind"] == "TWEET_KIND_ORIGINAL"
    assert created["content"] == content
    assert created["hashtags"] == ["launch"]
    assert created["mentions"] == [{"userId": bob["userId"], "username": bob["username"]}]
    assert created["urls"] == ["https://example.com/docs?a=1"]
    read = await edge.get(f"/v1/tweets/{created['tweetId']}", headers=bob["headers"])
    assert read.status_code == 200, read.text
    body = read.json()["tweet"]
    assert body["author"]["username"] == alice["username"]
    assert body["author"]["displayName"] == alice["displayName"]
    assert (body["likeCount"], body["retweetCount"], body["replyCount"]) == ("0", "0", "0")
    assert "editedAt" not in body
    assert body["createdAt"].endswith("Z")


@pytest.mark.parametrize(("content", "why"), [
    ("x" * 281, "at most 280"),
    ("", "empty"),
    (" \n\t ", "empty"),
    ("bad \x07 bell", "control characters"),
])
async def test_bad_content_is_400(edge: httpx.AsyncClient, content: str, why: str) -> None:
    user = await new_user(edge)
    body = assert_error(await edge.post("/v1/tweets", json={"content": content},
                                        headers=user["headers"]), 400, 3)
    violation = body["details"][0]["fieldViolations"][0]
    assert violation["field"] == "content"
    assert why in violation["description"]


async def test_280_characters_counted_as_people_see_them_is_fine(edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)
    created = await tweet(edge, user, "é" * 140 + "🐦" * 140)  # 280 code points, 840 bytes
    assert len(created["content"]) == 280


async def test_others_tweets_cannot_be_edited_or_deleted(edge: httpx.AsyncClient) -> None:
    alice, mallory = await new_user(edge), await new_user(edge)
    created = await tweet(edge, alice)
    path = f"/v1/tweets/{created['tweetId']}"
    assert_error(await edge.patch(path, json={"content": "pwned"}, headers=mallory["headers"]),
                 403, 7)
    assert_error(await edge.delete(path, headers=mallory["headers"]), 403, 7)
    assert (await edge.get(path, headers=alice["headers"])).json()["tweet"]["content"] == "hello"


@pytest.mark.parametrize(("method", "suffix"), [
    ("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/like"), ("POST", "/retweet"),
    ("GET", "/replies"), ("GET", "/likes"), ("GET", "/edits"),
])
async def test_missing_tweet_is_404(edge: httpx.AsyncClient, method: str, suffix: str) -> None:
    user = await new_user(edge)
    body = {"content": "x"} if method == "PATCH" else {} if method == "POST" else None
    response = await edge.request(method, f"/v1/tweets/424242{suffix}", json=body,
                                  headers=user["headers"])
    assert_error(response, 404, 5)


async def test_without_a_token_is_401(edge: httpx.AsyncClient) -> None:
    assert_error(await edge.post("/v1/tweets", json={"content": "anon"}), 401, 16)


async def test_liking_twice_counts_once_and_unlike_is_idempotent(
        edge: httpx.AsyncClient) -> None:
    alice, bob = await new_user(edge), await new_user(edge)
    created = await tweet(edge, alice)
    like = f"/v1/tweets/{created['tweetId']}/like"
    first = await edge.post(like, json={}, headers=bob["headers"])
    second = await edge.post(like, json={}, headers=bob["headers"])
    assert first.status_code == second.status_code == 200, second.text
    assert second.json()["tweet"]["likeCount"] == "1"
    assert second.json()["tweet"]["likedByViewer"] is True
    likes = (await edge.get(f"/v1/tweets/{created['tweetId']}/likes",
                            headers=alice["headers"])).json()["likes"]
    assert [entry["user"]["userId"] for entry in likes] == [bob["userId"]]
    for _ in range(2):
        unliked = await edge.delete(like, headers=bob["headers"])
        assert unliked.status_code == 200
        assert unliked.json()["tweet"]["likeCount"] == "0"


async def test_edit_keeps_history_sets_edited_at_and_reextracts(edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)
    created = await tweet(edge, user, "first #one")
    path = f"/v1/tweets/{created['tweetId']}"
    edited = await edge.patch(path, json={"content": "second #two https://x.org"},
                              headers=user["headers"])
    assert edited.status_code == 200, edited.text
    body = edited.json()["tweet"]
    assert body["hashtags"] == ["two"]
    assert body["urls"] == ["https://x.org"]
    assert body["editedAt"] >= body["createdAt"]
    assert_error(await edge.patch(path, json={"content": "x" * 281}, headers=user["headers"]),
                 400, 3)
    edits = (await edge.get(f"{path}/edits", headers=user["headers"])).json()["edits"]
    assert [(e["revision"], e["content"]) for e in edits] == [
        (2, "second #two https://x.org"), (1, "first #one")]


async def test_deleted_tweet_disappears_from_every_read_path(edge: httpx.AsyncClient,
                                                            stack_env: dict[str, str]) -> None:
    alice, bob = await new_user(edge), await new_user(edge)
    parent = await tweet(edge, alice, "parent")
    doomed = await tweet(edge, alice, "doomed", replyToTweetId=parent["tweetId"])
    retweet = (await edge.post(f"/v1/tweets/{doomed['tweetId']}/retweet", json={},
                               headers=bob["headers"])).json()["tweet"]
    assert (await edge.get(f"/v1/tweets/{parent['tweetId']}", headers=bob["headers"])
            ).json()["tweet"]["replyCount"] == "1"

    deleted = await edge.delete(f"/v1/tweets/{doomed['tweetId']}", headers=alice["headers"])
    assert deleted.status_code == 200, deleted.text
    assert_error(await edge.delete(f"/v1/tweets/{doomed['tweetId']}", headers=alice["headers"]),
                 404, 5)
    for tweet_id in (doomed["tweetId"], retweet["tweetId"]):
        assert_error(await edge.get(f"/v1/tweets/{tweet_id}", headers=bob["headers"]), 404, 5)
    for user in (alice, bob):
        listed = (await edge.get(f"/v1/users/{user['userId']}/tweets",
                                 headers=bob["headers"])).json().get("tweets", [])
        assert {t["tweetId"] for t in listed}.isdisjoint({doomed["tweetId"], retweet["tweetId"]})
    replies = (await edge.get(f"/v1/tweets/{parent['tweetId']}/replies",
                              headers=bob["headers"])).json().get("replies", [])
    assert replies == []
    assert (await edge.get(f"/v1/tweets/{parent['tweetId']}", headers=bob["headers"])
            ).json()["tweet"]["replyCount"] == "0"
    channel = internal_channel(stack_env["TWEETS_ADDR"],
                               AuthSettings().internal_token.get_secret_value())
    try:
        batch = await tweets_pb2_grpc.TweetServiceStub(channel).BatchGetTweets(
            tweets_pb2.BatchGetTweetsRequest(tweet_ids=[int(doomed["tweetId"]),
                                                        int(retweet["tweetId"]),
                                                        int(parent["tweetId"])]))
    finally:
        await channel.close()
    assert [str(t.tweet_id) for t in batch.tweets] == [parent["tweetId"]]


async def test_reply_to_a_deleted_tweet_is_404(edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)
    parent = await tweet(edge, user)
    await edge.delete(f"/v1/tweets/{parent['tweetId']}", headers=user["headers"])
    response = await edge.post("/v1/tweets", json={"content": "late reply",
                                                   "replyToTweetId": parent["tweetId"]},
                               headers=user["headers"])
    assert_error(response, 404, 5)


async def test_user_tweets_are_paged_newest_first_with_retweets(edge: httpx.AsyncClient) -> None:
    alice, bob = await new_user(edge), await new_user(edge)
    other = await tweet(edge, bob, "by bob")
    posted = [await tweet(edge, alice, f"n{i}") for i in range(5)]
    retweet = (await edge.post(f"/v1/tweets/{other['tweetId']}/retweet", json={},
                               headers=alice["headers"])).json()["tweet"]
    seen: list[str] = []
    token = ""
    while True:
        page = (await edge.get(f"/v1/users/{alice['userId']}/tweets",
                               params={"pageSize": 2, "pageToken": token},
                               headers=bob["headers"])).json()
        seen += [t["tweetId"] for t in page.get("tweets", [])]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert seen == [retweet["tweetId"], *(t["tweetId"] for t in reversed(posted))]
    first = (await edge.get(f"/v1/users/{alice['userId']}/tweets", params={"pageSize": 1},
                            headers=bob["headers"])).json()
    assert first["tweets"][0]["retweetOf"]["tweetId"] == other["tweetId"]
    # A token issued for alice's list does not page bob's.
    assert_error(await edge.get(f"/v1/users/{bob['userId']}/tweets",
                                params={"pageToken": first["nextPageToken"]},
                                headers=bob["headers"]), 400, 3)


async def test_concurrent_likes_through_the_edge_count_exactly(edge: httpx.AsyncClient) -> None:
    author = await new_user(edge)
    fans = await asyncio.gather(*(new_user(edge) for _ in range(10)))
    created = await tweet(edge, author)
    like = f"/v1/tweets/{created['tweetId']}/like"
    responses = await asyncio.gather(*(edge.post(like, json={}, headers=f["headers"])
                                       for f in [*fans, *fans]))
    assert {r.status_code for r in responses} == {200}
    read = await edge.get(f"/v1/tweets/{created['tweetId']}", headers=author["headers"])
    assert read.json()["tweet"]["likeCount"] == "10"


async def test_media_ids_are_checked(edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)
    assert_error(await edge.post("/v1/tweets", json={"content": "pic", "mediaIds": ["-1"]},
                                 headers=user["headers"]), 400, 3)
    assert_error(await edge.post("/v1/tweets", json={"content": "pics",
                                                     "mediaIds": ["1", "2", "3", "4", "5"]},
                                 headers=user["headers"]), 400, 3)

