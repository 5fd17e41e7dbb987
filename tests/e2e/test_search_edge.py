"""Search and trends through the edge: the indexer follows JetStream events."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from tests.support.edge import tweet
from tests.support.trends import counts, private_places, ranked_fairly
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


async def search(edge: httpx.AsyncClient, user: User, q: str) -> list[str]:
    r = await edge.get("/v1/search/tweets", params={"q": q}, headers=user["headers"])
    assert r.status_code == 200, r.text
    return [t["tweetId"] for t in r.json()["tweets"]]


async def test_post_then_find_by_word_hashtag_mention_and_author(edge: httpx.AsyncClient) -> None:
    author, other = await new_user(edge), await new_user(edge)
    w, tag = "w" + secrets.token_hex(4), "t" + secrets.token_hex(4)
    tweet_id = await tweet(edge, author, f"searching for {w} #{tag} with @{other['username']}")

    async def found() -> bool:
        return tweet_id in await search(edge, other, w)
    posted = time.monotonic()
    await eventually(found, within=2.0)
    assert time.monotonic() - posted < 2.0  # searchable within 2 s
    assert await search(edge, other, f"#{tag}") == [tweet_id]
    assert tweet_id in await search(edge, other, f"@{other['username']}")
    assert await search(edge, other, f"from:{author['username']} {w}") == [tweet_id]
    assert await search(edge, other, f"from:{other['username']} {w}") == []
    assert await search(edge, other, "from:nosuchuser0000 hello") == []


async def test_edit_and_delete(edge: httpx.AsyncClient) -> None:
    author = await new_user(edge)
    old, new = "o" + secrets.token_hex(4), "n" + secrets.token_hex(4)
    tweet_id = await tweet(edge, author, f"before {old}")

    async def indexed() -> bool:
        return tweet_id in await search(edge, author, old)
    await eventually(indexed)
    r = await edge.patch(f"/v1/tweets/{tweet_id}", json={"content": f"after {new}"},
                         headers=author["headers"])
    assert r.status_code == 200, r.text

    async def edited() -> bool:
        return (await search(edge, author, new) == [tweet_id]
                and await search(edge, author, old) == [])
    await eventually(edited)
    r = await edge.delete(f"/v1/tweets/{tweet_id}", headers=author["headers"])
    assert r.status_code == 200, r.text
    assert await search(edge, author, new) == []  # never returned once deleted


async def test_user_search(edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)

    async def found() -> bool:
        r = await edge.get("/v1/search/users", params={"q": user["username"][:8]},
                           headers=user["headers"])
        assert r.status_code == 200, r.text
        return user["userId"] in [u["userId"] for u in r.json()["users"]]
    await eventually(found, within=3.0)


async def test_bad_queries_are_400(edge: httpx.AsyncClient) -> None:
    user = await new_user(edge)
    for params in ({"q": ""}, {"q": "x" * 501}, {"q": "hello", "pageToken": "garbage"}):
        r = await edge.get("/v1/search/tweets", params=params, headers=user["headers"])
        assert r.status_code == 400, r.text


async def test_trends_count_each_user_once(edge: httpx.AsyncClient) -> None:
    # In a place of the test's own, where nothing else posted this hour, so
    # the counts are exact whatever the worldwide list holds (tests/support/trends.py).
    loud, a, b = await new_user(edge), await new_user(edge), await new_user(edge)
    spam, real = "s" + secrets.token_hex(4), "r" + secrets.token_hex(4)
    [place] = private_places(1)
    for n in range(5):  # one account posting a hashtag five times
        await tweet(edge, loud, f"#{spam} again {n}", place=place)
    for user in (a, b, loud):
        await tweet(edge, user, f"#{real} for real", place=place)

    async def counted() -> bool:
        r = await edge.get("/v1/trends", params={"limit": 50, "place": place},
                           headers=a["headers"])
        assert r.status_code == 200, r.text
        body = r.json()
        here = counts(body["placeTrends"])
        return here.get(real) == 3 and here.get(spam) == 1 and \
            ranked_fairly(body["trends"], real, 3, 50)
    await eventually(counted, within=5.0)
