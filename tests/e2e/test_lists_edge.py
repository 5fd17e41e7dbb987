"""Lists through the edge: the REST routes, who may see and change a list, the
list timeline (fanout on read: members' tweets, new ones included, pages,
blocks and mutes) and the status codes of bad input."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.support.blocks import relate
from tests.support.edge import assert_error, tweet
from tests.support.lists import add, create_list
from tests.support.users import User, new_user
from tests.support.wait import eventually

pytestmark = pytest.mark.e2e


async def users(edge: httpx.AsyncClient, count: int) -> list[User]:
    return list(await asyncio.gather(*(new_user(edge) for _ in range(count))))


async def timeline(edge: httpx.AsyncClient, viewer: User, list_id: str,
                   query: str = "") -> httpx.Response:
    return await edge.get(f"/v1/lists/{list_id}/timeline{query}", headers=viewer["headers"])


async def timeline_ids(edge: httpx.AsyncClient, viewer: User, list_id: str) -> list[str]:
    r = await timeline(edge, viewer, list_id)
    assert r.status_code == 200, r.text
    return [e["tweet"]["tweetId"] for e in r.json().get("entries", [])]


async def test_list_lifecycle_through_the_edge(edge: httpx.AsyncClient) -> None:
    owner, member, reader = await users(edge, 3)
    created = await create_list(edge, owner)
    list_id = created["listId"]
    assert created["owner"]["username"] == owner["username"]
    assert created.get("memberCount", 0) == 0
    r = await add(edge, owner, list_id, member)
    assert r.status_code == 200, r.text
    assert r.json()["list"]["memberCount"] == 1
    r = await edge.get(f"/v1/lists/{list_id}/members", headers=reader["headers"])
    assert [m["user"]["userId"] for m in r.json()["members"]] == [member["userId"]]
    r = await edge.patch(f"/v1/lists/{list_id}", headers=owner["headers"],
                         json={"name": "renamed"})
    assert r.json()["list"]["name"] == "renamed"
    assert r.json()["list"]["description"] == "good people"  # unset fields stay
    r = await edge.post(f"/v1/lists/{list_id}/follow", headers=reader["headers"], json={})
    assert r.json()["list"]["followerCount"] == 1
    assert r.json()["list"]["following"]
    r = await edge.get(f"/v1/users/{reader['userId']}/followed-lists",
                       headers=reader["headers"])
    assert [x["listId"] for x in r.json()["lists"]] == [list_id]
    r = await edge.get(f"/v1/users/{owner['userId']}/lists", headers=reader["headers"])
    assert [x["listId"] for x in r.json()["lists"]] == [list_id]
    # Only the owner edits; others are told (the list is visible to them).
    assert_error(await edge.patch(f"/v1/lists/{list_id}", headers=reader["headers"],
                                  json={"name": "mine"}), 403, 7)
    assert_error(await add(edge, reader, list_id, reader), 403, 7)
    r = await edge.delete(f"/v1/lists/{list_id}/members/{member['userId']}",
                          headers=owner["headers"])
    assert r.json()["list"]["memberCount"] == 0
    assert (await edge.delete(f"/v1/lists/{list_id}", headers=owner["headers"])).status_code \
        == 200
    assert_error(await edge.get(f"/v1/lists/{list_id}", headers=owner["headers"]), 404, 5)
    assert_error(await timeline(edge, owner, list_id), 404, 5)


async def test_list_timeline_merges_members_tweets_and_pages(edge: httpx.AsyncClient) -> None:
    owner, a, b, outsider = await users(edge, 4)
    list_id = (await create_list(edge, owner))["listId"]
    for member in (a, b):
        assert (await add(edge, owner, list_id, member)).status_code == 200
    posted = []
    for n in range(3):
        posted.append(await tweet(edge, a, f"a says {n}"))
        posted.append(await tweet(edge, b, f"b says {n}"))
    await tweet(edge, outsider, "not on the list")
    newest_first = sorted(posted, key=int, reverse=True)
    assert await timeline_ids(edge, owner, list_id) == newest_first
    # Pages of two with the home timeline's tokens: each tweet once, in order.
    seen: list[str] = []
    token = ""
    while True:
        r = await timeline(edge, owner, list_id, f"?pageSize=2&pageToken={token}")
        body = r.json()
        seen += [e["tweet"]["tweetId"] for e in body.get("entries", [])]
        token = body.get("nextPageToken", "")
        if not token:
            break
    assert seen == newest_first
    # A token of this list is no token of another list.
    other = (await create_list(edge, owner, name="other"))["listId"]
    first = (await timeline(edge, owner, list_id, "?pageSize=2")).json()["nextPageToken"]
    assert_error(await timeline(edge, owner, other, f"?pageToken={first}"), 400, 3)

    # Read once, the members' sets are kept by fanout: a new tweet shows up.
    fresh = await tweet(edge, a, "fresh")

    async def arrived() -> bool:
        return (await timeline_ids(edge, owner, list_id))[:1] == [fresh]
    await eventually(arrived, within=5.0)
    # A deleted tweet leaves the list timeline.
    r = await edge.delete(f"/v1/tweets/{fresh}", headers=a["headers"])
    assert r.status_code == 200, r.text

    async def gone() -> bool:
        return fresh not in await timeline_ids(edge, owner, list_id)
    await eventually(gone, within=5.0)


async def test_blocks_and_mutes_apply_as_on_home(edge: httpx.AsyncClient) -> None:
    owner, muted, blocker, reader = await users(edge, 4)
    list_id = (await create_list(edge, owner))["listId"]
    for member in (muted, blocker):
        assert (await add(edge, owner, list_id, member)).status_code == 200
    muted_tweet = await tweet(edge, muted, "muted words")
    blocker_tweet = await tweet(edge, blocker, "blocker words")
    assert set(await timeline_ids(edge, reader, list_id)) == {muted_tweet, blocker_tweet}
    await relate(edge, reader, muted, "mute")
    assert await timeline_ids(edge, reader, list_id) == [blocker_tweet]
    await relate(edge, blocker, reader, "block")
    assert await timeline_ids(edge, reader, list_id) == []
    members = (await edge.get(f"/v1/lists/{list_id}/members", headers=reader["headers"])).json()
    assert blocker["userId"] not in [m["user"]["userId"] for m in members["members"]]
    # The owner still sees both; then a member who blocks the owner leaves the
    # list and cannot be added back (to the owner, as if they did not exist).
    assert set(await timeline_ids(edge, owner, list_id)) == {muted_tweet, blocker_tweet}
    await relate(edge, blocker, owner, "block")
    r = await edge.get(f"/v1/lists/{list_id}", headers=owner["headers"])
    assert r.json()["list"]["memberCount"] == 1
    assert_error(await add(edge, owner, list_id, blocker), 404, 5)
    assert await timeline_ids(edge, owner, list_id) == [muted_tweet]


async def test_private_lists_answer_as_absent(edge: httpx.AsyncClient) -> None:
    owner, member, other = await users(edge, 3)
    list_id = (await create_list(edge, owner, private=True))["listId"]
    assert (await add(edge, owner, list_id, member)).status_code == 200
    posted = await tweet(edge, member, "in a private list")
    assert await timeline_ids(edge, owner, list_id) == [posted]
    for r in (await edge.get(f"/v1/lists/{list_id}", headers=other["headers"]),
              await edge.get(f"/v1/lists/{list_id}/members", headers=other["headers"]),
              await timeline(edge, other, list_id),
              await edge.post(f"/v1/lists/{list_id}/follow", headers=other["headers"], json={}),
              await edge.delete(f"/v1/lists/{list_id}", headers=other["headers"])):
        assert_error(r, 404, 5)
    # Word for word as for a list that never existed.
    missing = await edge.get("/v1/lists/1", headers=other["headers"])
    hidden = await edge.get(f"/v1/lists/{list_id}", headers=other["headers"])
    assert missing.json()["message"] == hidden.json()["message"]


async def test_bad_input_gets_clear_statuses(edge: httpx.AsyncClient) -> None:
    owner = await new_user(edge)
    body = assert_error(await edge.post("/v1/lists", headers=owner["headers"],
                                        json={"name": "x" * 26}), 400, 3)
    assert "name" in body["message"]
    assert_error(await edge.post("/v1/lists", headers=owner["headers"],
                                 json={"name": "ok", "description": "d" * 101}), 400, 3)
    assert_error(await edge.post("/v1/lists", headers=owner["headers"],
                                 json={"name": "ok", "colour": "red"}), 400, 3)
    list_id = (await create_list(edge, owner))["listId"]
    assert_error(await edge.post(f"/v1/lists/{list_id}/members", headers=owner["headers"],
                                 json={"userId": "1"}), 404, 5)
    assert_error(await edge.post(f"/v1/lists/{list_id}/follow", headers=owner["headers"],
                                 json={}), 400, 3)
    assert (await edge.get("/v1/lists/1", headers={})).status_code == 401


async def test_create_is_idempotent_with_a_key(edge: httpx.AsyncClient) -> None:
    owner = await new_user(edge)
    headers = owner["headers"] | {"Idempotency-Key": uuid.uuid4().hex}
    first = await edge.post("/v1/lists", headers=headers, json={"name": "once"})
    again = await edge.post("/v1/lists", headers=headers, json={"name": "once"})
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["list"]["listId"] == again.json()["list"]["listId"]
    owned = (await edge.get(f"/v1/users/{owner['userId']}/lists",
                            headers=owner["headers"])).json()
    assert len(owned["lists"]) == 1
