"""Page tokens of every list through the edge: a token from another list, a
tampered one and a validly signed one with a wrongly typed field are each 400
with the edge's JSON error (INVALID_ARGUMENT on page_token), never a 500.

One small world gives every list at least two rows, and each list a real next
token; the test then checks it re-signs that token exactly (so the list name
and owner it forges with are the list's own) before forging the wrong type.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.shared.paging.cursor import MAC_BYTES, Owner, sign
from tests.support.edge import assert_error
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e

@dataclass(frozen=True)
class Listing:
    path: str
    owner: Owner
    reader: User
    params: dict[str, str]


# For each list, another one whose token it must refuse (the same owner where one exists).
FOREIGN = {
    "users.followers": "users.following",
    "users.following": "tweets.user_tweets",
    "tweets.user_tweets": "messages.conversations",
    "messages.conversations": "users.followers",
    "messages.messages": "messages.conversations",
    "tweets.replies": "tweets.likers",
    "tweets.likers": "tweets.edits",
    "tweets.edits": "tweets.replies",
    "timeline.home": "timeline.mentions",
    "timeline.mentions": "timeline.home",
    "search.tweets": "search.users",
    "search.users": "search.tweets",
    "notifications.groups": "messages.conversations",
}


async def ok(response: Awaitable[httpx.Response]) -> dict[str, Any]:
    r = await response
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def read(edge: httpx.AsyncClient, listing: Listing, token: str) -> httpx.Response:
    return await edge.get(listing.path, headers=listing.reader["headers"],
                          params=listing.params | {"pageSize": "1", "pageToken": token})


async def first_token(edge: httpx.AsyncClient, listing: Listing) -> str:
    """A real next-page token (fanout and indexing are asynchronous: wait for them)."""
    async def token() -> str:
        found: str = (await ok(read(edge, listing, ""))).get("nextPageToken", "")
        return found
    return await eventually(token, within=10.0, what=f"a second page of {listing.path}")


@pytest.fixture(scope="module")
async def world(edge: httpx.AsyncClient) -> dict[str, tuple[Listing, str]]:
    alice, bob, carol = await new_user(edge), await new_user(edge), await new_user(edge)
    a, b = int(alice["userId"]), int(bob["userId"])
    word = "w" + secrets.token_hex(5)

    async def post(who: User, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await ok(edge.post(path, json=body, headers=who["headers"]))

    for fan, star in ((bob, alice), (carol, alice), (alice, bob), (alice, carol)):
        await post(fan, f"/v1/users/{fan['userId']}/follow", {"targetUserId": star["userId"]})
    tweets = [(await post(alice, "/v1/tweets", {"content": f"{word} {n} @{bob['username']}"})
               )["tweet"]["tweetId"] for n in range(2)]
    t1 = int(tweets[0])
    for who in (bob, carol):
        await post(who, "/v1/tweets", {"content": "a reply", "replyToTweetId": str(t1)})
        await post(who, f"/v1/tweets/{t1}/like", {})
        await ok(edge.patch(f"/v1/users/{who['userId']}", json={"displayName": word},
                            headers=who["headers"]))
        await post(alice, "/v1/messages", {"recipientUserId": who["userId"], "content": "hi"})
    await ok(edge.patch(f"/v1/tweets/{t1}", json={"content": f"{word} edited @{bob['username']}"},
                        headers=alice["headers"]))
    await post(alice, "/v1/messages", {"recipientUserId": bob["userId"], "content": "again"})

    lists = {
        "users.followers": Listing(f"/v1/users/{a}/followers", a, alice, {}),
        "users.following": Listing(f"/v1/users/{a}/following", a, alice, {}),
        "tweets.user_tweets": Listing(f"/v1/users/{a}/tweets", a, alice, {}),
        "tweets.replies": Listing(f"/v1/tweets/{t1}/replies", t1, alice, {}),
        "tweets.likers": Listing(f"/v1/tweets/{t1}/likes", t1, alice, {}),
        "tweets.edits": Listing(f"/v1/tweets/{t1}/edits", t1, alice, {}),
        "timeline.home": Listing(f"/v1/timeline/{b}", b, bob, {}),
        "timeline.mentions": Listing(f"/v1/timeline/{b}/mentions", b, bob, {}),
        "search.tweets": Listing("/v1/search/tweets", word, alice, {"q": word}),
        "search.users": Listing("/v1/search/users", word, alice, {"q": word}),
        "messages.conversations": Listing("/v1/conversations", a, alice, {}),
        # Alice's followers, the likes of t1 and each reply: several groups.
        "notifications.groups": Listing("/v1/notifications", a, alice, {}),
        "messages.messages": Listing(f"/v1/conversations/{b}/messages", (min(a, b), max(a, b)),
                                     alice, {}),
    }
    return {name: (listing, await first_token(edge, listing)) for name, listing in lists.items()}


def carried(token: str) -> list[Any]:
    """The values a token carries (readable by anyone; only the MAC is secret)."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    values: list[Any] = json.loads(raw[:-MAC_BYTES])
    return values


@pytest.mark.parametrize("name", list(FOREIGN))
async def test_bad_page_tokens_are_400(edge: httpx.AsyncClient,
                                       world: dict[str, tuple[Listing, str]], name: str) -> None:
    listing, token = world[name]
    values = carried(token)
    assert sign(name, listing.owner, values) == token  # the list's own name and owner
    await ok(read(edge, listing, token))
    wrong = [1 if isinstance(values[0], str) else str(values[0]), *values[1:]]
    bad = {
        "another list's": world[FOREIGN[name]][1],
        "a tampered": token[:1] + ("B" if token[1] == "A" else "A") + token[2:],
        "a wrongly typed": sign(name, listing.owner, wrong),
    }
    for what, forged in bad.items():
        body = assert_error(await read(edge, listing, forged), 400, 3)
        violation = body["details"][0]["fieldViolations"][0]
        assert violation["field"] == "pageToken", f"{what} token: {body}"
