"""Quote tweets and bookmarks (issue 35) through the Envoy edge: the embed on
every read path (tweet, home timeline, search), the quote count, blocks and
mutes turning the embed into "unavailable", the quoted author's notification,
and bookmarks' privacy, order, idempotency, deletes and blocks."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.blocks import relate, search_ids
from tests.support.edge import assert_error, follow
from tests.support.notifications import gone, group_when
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e
GHOST = "8" * 18  # a tweet id no one has


async def post(edge: httpx.AsyncClient, user: User, content: str, **extra: Any
               ) -> dict[str, Any]:
    r = await edge.post("/v1/tweets", json={"content": content, **extra},
                        headers=user["headers"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["tweet"]
    return body


async def read(edge: httpx.AsyncClient, user: User, tweet_id: str) -> dict[str, Any]:
    r = await edge.get(f"/v1/tweets/{tweet_id}", headers=user["headers"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["tweet"]
    return body


async def bookmarks(edge: httpx.AsyncClient, user: User, **params: Any) -> dict[str, Any]:
    r = await edge.get("/v1/me/bookmarks", params=params, headers=user["headers"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [b["tweet"]["tweetId"] for b in page.get("bookmarks", [])]


async def test_a_quote_embeds_counts_notifies_and_is_searchable(edge: httpx.AsyncClient) -> None:
    author, quoter, fan = await new_user(edge), await new_user(edge), await new_user(edge)
    await follow(edge, fan, quoter)
    original = await post(edge, author, "an original thought")
    word = f"quoteword{original['tweetId'][-8:]}"
    quote = await post(edge, quoter, f"{word} well said", quotedTweetId=original["tweetId"])
    assert quote["quotedTweetId"] == original["tweetId"]
    assert quote["quotedTweet"]["content"] == "an original thought"
    assert quote["quotedTweet"]["author"]["username"] == author["username"]
    assert not quote.get("quotedTweetUnavailable")
    assert (await read(edge, fan, original["tweetId"]))["quoteCount"] == "1"

    async def on_home() -> dict[str, Any] | None:
        r = await edge.get(f"/v1/timeline/{fan['userId']}", headers=fan["headers"])
        entries = [e["tweet"] for e in r.json().get("entries", [])]
        return next((t for t in entries if t["tweetId"] == quote["tweetId"]), None)

    shown = await eventually(on_home, within=10.0, what="the quote on the home timeline")
    assert shown["quotedTweet"]["tweetId"] == original["tweetId"]

    async def found() -> bool:
        return quote["tweetId"] in await search_ids(edge, fan, word)

    await eventually(found, within=10.0, what="the quote's text searchable")
    group = await group_when(edge, author, "QUOTE", quote["tweetId"], 1)
    assert group["recentActorIds"] == [quoter["userId"]]
    # Deleting the quote takes its count and its notification back.
    r = await edge.delete(f"/v1/tweets/{quote['tweetId']}", headers=quoter["headers"])
    assert r.status_code == 200, r.text
    assert (await read(edge, fan, original["tweetId"]))["quoteCount"] == "0"
    await gone(edge, author, "QUOTE", quote["tweetId"])


async def test_concurrent_quotes_through_the_edge_count_exactly(edge: httpx.AsyncClient) -> None:
    author = await new_user(edge)
    quoters = [await new_user(edge) for _ in range(12)]  # sign-ups hash passwords: one by one
    original = await post(edge, author, "quote me, all of you")
    await asyncio.gather(*(post(edge, q, "me too", quotedTweetId=original["tweetId"])
                           for q in quoters))
    assert (await read(edge, author, original["tweetId"]))["quoteCount"] == "12"


async def test_blocks_and_deletes_make_the_embed_unavailable_never_the_quote(
        edge: httpx.AsyncClient) -> None:
    author, quoter, viewer = await new_user(edge), await new_user(edge), await new_user(edge)
    original = await post(edge, author, "blockable")
    quote = await post(edge, quoter, "look at this", quotedTweetId=original["tweetId"])
    # The quoted author blocks the viewer: the quote shows, its embed does not.
    await relate(edge, author, viewer, "block")
    seen = await read(edge, viewer, quote["tweetId"])
    assert seen["quotedTweetUnavailable"] is True
    assert "quotedTweet" not in seen
    assert seen["quotedTweetId"] == original["tweetId"]
    # Quoting a tweet one cannot see answers word for word as a missing tweet.
    hidden = await edge.post("/v1/tweets", json={"content": "x",
                                                 "quotedTweetId": original["tweetId"]},
                             headers=viewer["headers"])
    missing = await edge.post("/v1/tweets", json={"content": "x", "quotedTweetId": GHOST},
                              headers=viewer["headers"])
    assert_error(hidden, 404, 5)
    assert hidden.json() == missing.json()
    await relate(edge, author, viewer, "block", on=False)
    assert "quotedTweet" in await read(edge, viewer, quote["tweetId"])
    # The viewer blocks the quoted author: unavailable too; quoting is refused (403).
    await relate(edge, viewer, author, "block")
    assert (await read(edge, viewer, quote["tweetId"]))["quotedTweetUnavailable"] is True
    assert_error(await edge.post("/v1/tweets", json={"content": "x",
                                                     "quotedTweetId": original["tweetId"]},
                                 headers=viewer["headers"]), 403, 7)
    # Deleted: unavailable for everyone, the quote still reads.
    await edge.delete(f"/v1/tweets/{original['tweetId']}", headers=author["headers"])
    after = await read(edge, quoter, quote["tweetId"])
    assert after["quotedTweetUnavailable"] is True
    assert after["content"] == "look at this"


async def test_a_muted_quoted_author_is_unavailable_in_the_home_timeline(
        edge: httpx.AsyncClient) -> None:
    author, quoter, fan = await new_user(edge), await new_user(edge), await new_user(edge)
    await follow(edge, fan, quoter)
    await relate(edge, fan, author, "mute")
    original = await post(edge, author, "muted voice")
    quote = await post(edge, quoter, "quoting the muted", quotedTweetId=original["tweetId"])

    async def on_home() -> dict[str, Any] | None:
        r = await edge.get(f"/v1/timeline/{fan['userId']}", headers=fan["headers"])
        entries = [e["tweet"] for e in r.json().get("entries", [])]
        return next((t for t in entries if t["tweetId"] == quote["tweetId"]), None)

    shown = await eventually(on_home, within=10.0, what="the quote on the home timeline")
    assert shown["quotedTweetUnavailable"] is True
    assert "quotedTweet" not in shown
    # A mute is for timelines: read directly, the quoted tweet shows.
    assert "quotedTweet" in await read(edge, fan, quote["tweetId"])


async def test_bookmarks_are_private_ordered_idempotent_and_follow_deletes_and_blocks(
        edge: httpx.AsyncClient) -> None:
    author, owner, other = await new_user(edge), await new_user(edge), await new_user(edge)
    first, second, third = [await post(edge, author, f"bm {i}") for i in range(3)]
    for t in (first, second, third, second):  # the repeat keeps the first bookmark
        r = await edge.post(f"/v1/tweets/{t['tweetId']}/bookmark", json={},
                            headers=owner["headers"])
        assert r.status_code == 200, r.text
        assert r.json()["tweet"]["tweetId"] == t["tweetId"]
    page = await bookmarks(edge, owner, pageSize=2)
    assert ids(page) == [third["tweetId"], second["tweetId"]]
    assert ids(await bookmarks(edge, owner, pageToken=page["nextPageToken"])) == [
        first["tweetId"]]
    # Nobody else sees them, and a token of the owner's list does not page another's.
    assert ids(await bookmarks(edge, other)) == []
    assert_error(await edge.get("/v1/me/bookmarks", params={"pageToken": page["nextPageToken"]},
                                headers=other["headers"]), 400, 3)
    # Removing is idempotent.
    for _ in range(2):
        r = await edge.delete(f"/v1/tweets/{third['tweetId']}/bookmark",
                              headers=owner["headers"])
        assert r.status_code == 200, r.text
    assert ids(await bookmarks(edge, owner)) == [second["tweetId"], first["tweetId"]]
    # Deleted tweets go; a block by the author hides the rest.
    await edge.delete(f"/v1/tweets/{second['tweetId']}", headers=author["headers"])
    assert ids(await bookmarks(edge, owner)) == [first["tweetId"]]
    await relate(edge, author, owner, "block")
    assert ids(await bookmarks(edge, owner)) == []
    assert_error(await edge.post(f"/v1/tweets/{first['tweetId']}/bookmark", json={},
                                 headers=owner["headers"]), 404, 5)
    await relate(edge, author, owner, "block", on=False)
    assert ids(await bookmarks(edge, owner)) == [first["tweetId"]]
    assert_error(await edge.post(f"/v1/tweets/{GHOST}/bookmark", json={},
                                 headers=owner["headers"]), 404, 5)


async def test_a_repeated_quote_or_bookmark_under_one_idempotency_key_happens_once(
        edge: httpx.AsyncClient) -> None:
    author, quoter = await new_user(edge), await new_user(edge)
    original = await post(edge, author, "quote me once")
    headers = quoter["headers"] | {"Idempotency-Key": f"q-{original['tweetId']}"}
    body = {"content": "once", "quotedTweetId": original["tweetId"]}
    first = await edge.post("/v1/tweets", json=body, headers=headers)
    again = await edge.post("/v1/tweets", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["tweet"]["tweetId"] == again.json()["tweet"]["tweetId"]
    assert (await read(edge, author, original["tweetId"]))["quoteCount"] == "1"
    headers = quoter["headers"] | {"Idempotency-Key": f"b-{original['tweetId']}"}
    path = f"/v1/tweets/{original['tweetId']}/bookmark"
    marked = [await edge.post(path, json={}, headers=headers) for _ in range(2)]
    assert [r.status_code for r in marked] == [200, 200]
    assert marked[0].json() == marked[1].json()
    assert ids(await bookmarks(edge, quoter)) == [original["tweetId"]]
