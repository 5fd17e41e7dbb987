"""Direct messages through the Envoy edge, real messages and users services and
Cassandra behind it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.support.users import Account, MakeAccount

pytestmark = pytest.mark.e2e


async def send(edge: httpx.AsyncClient, sender: Account, recipient: Account | int,
               content: str, client_message_id: str = "") -> httpx.Response:
    to = recipient if isinstance(recipient, int) else recipient.user_id
    body: dict[str, Any] = {"recipientUserId": str(to), "content": content}
    if client_message_id:
        body["clientMessageId"] = client_message_id
    return await edge.post("/v1/messages", json=body, headers=sender.bearer)


async def sent(edge: httpx.AsyncClient, sender: Account, recipient: Account,
               content: str) -> dict[str, Any]:
    r = await send(edge, sender, recipient, content)
    assert r.status_code == 200, r.text
    message: dict[str, Any] = r.json()["message"]
    return message


async def messages(edge: httpx.AsyncClient, who: Account, peer: Account | int,
                   **params: Any) -> httpx.Response:
    peer_id = peer if isinstance(peer, int) else peer.user_id
    return await edge.get(f"/v1/conversations/{peer_id}/messages", params=params,
                          headers=who.bearer)


async def conversations(edge: httpx.AsyncClient, who: Account,
                        **params: Any) -> dict[str, Any]:
    r = await edge.get("/v1/conversations", params=params, headers=who.bearer)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def mark_read(edge: httpx.AsyncClient, who: Account, peer: Account,
                    up_to: str = "") -> httpx.Response:
    body = {"upToMessageId": up_to} if up_to else {}
    return await edge.post(f"/v1/conversations/{peer.user_id}/read", json=body,
                           headers=who.bearer)


async def test_send_read_both_ways_and_list_conversations(edge: httpx.AsyncClient,
                                                          make_account: MakeAccount) -> None:
    alice, bob = await make_account("da"), await make_account("db")
    first = await sent(edge, alice, bob, "hello Bob\nline two\twith a tab")
    assert first["senderUserId"] == str(alice.user_id)
    assert first["recipientUserId"] == str(bob.user_id)
    reply = await sent(edge, bob, alice, "hi Alice ✨")

    for who, peer in ((alice, bob), (bob, alice)):
        r = await messages(edge, who, peer)
        assert r.status_code == 200, r.text
        got = r.json()["messages"]
        assert [m["messageId"] for m in got] == [reply["messageId"], first["messageId"]]
        assert got[1]["content"] == "hello Bob\nline two\twith a tab"

    listing = await conversations(edge, bob)
    assert len(listing["conversations"]) == 1
    conversation = listing["conversations"][0]
    assert conversation["peer"]["userId"] == str(alice.user_id)
    assert conversation["peer"]["username"] == alice.username
    assert conversation["lastMessage"]["content"] == "hi Alice ✨"
    assert conversation["unreadCount"] == 1  # Alice's message; Bob's own reply is not unread


async def test_a_third_user_cannot_read_the_conversation(edge: httpx.AsyncClient,
                                                         make_account: MakeAccount) -> None:
    alice, bob, carol = (await make_account("pa"), await make_account("pb"),
                         await make_account("pc"))
    await sent(edge, alice, bob, "a secret between us")
    # Carol can only name conversations from her side: with Alice or with Bob she
    # has none, so both are 404, and neither shows in her list.
    for peer in (alice, bob):
        r = await messages(edge, carol, peer)
        assert r.status_code == 404, r.text
        assert "secret" not in r.text
        assert (await mark_read(edge, carol, peer)).status_code == 404
    assert (await conversations(edge, carol))["conversations"] == []
    unauthenticated = await edge.get(f"/v1/conversations/{bob.user_id}/messages")
    assert unauthenticated.status_code == 401


async def test_idempotent_send(edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice, bob = await make_account("ia"), await make_account("ib")
    key = str(uuid.uuid4())
    first = await send(edge, alice, bob, "only once", key)
    again = await send(edge, alice, bob, "only once", key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["message"] == again.json()["message"]
    assert first.json()["message"]["clientMessageId"] == key
    listed = (await messages(edge, bob, alice)).json()["messages"]
    assert len(listed) == 1
    assert listed[0].get("clientMessageId", "") == ""  # the key is the sender's only
    reused = await send(edge, alice, bob, "something else", key)
    assert reused.status_code == 409, reused.text


async def test_concurrent_retries_store_one_message(edge: httpx.AsyncClient,
                                                    make_account: MakeAccount) -> None:
    alice, bob = await make_account("ra"), await make_account("rb")
    key = str(uuid.uuid4())
    results = await asyncio.gather(*(send(edge, alice, bob, "racing", key) for _ in range(8)))
    assert {r.status_code for r in results} == {200}
    assert len({r.json()["message"]["messageId"] for r in results}) == 1
    assert len((await messages(edge, bob, alice)).json()["messages"]) == 1
    assert (await conversations(edge, bob))["conversations"][0]["unreadCount"] == 1


async def test_content_rules_and_recipients(edge: httpx.AsyncClient,
                                            make_account: MakeAccount) -> None:
    alice, bob = await make_account("ca"), await make_account("cb")
    for content in ("", "   \n", "x" * 10_001, "bell\x07", "nul\x00"):
        r = await send(edge, alice, bob, content)
        assert r.status_code == 400, (content[:10], r.text)
    # 10,000 characters after NFC: 'e' + combining acute composes to one 'é'.
    assert (await send(edge, alice, bob, "e\u0301" * 10_000)).status_code == 200
    assert (await send(edge, alice, alice, "me")).status_code == 400
    assert (await send(edge, alice, 1, "nobody")).status_code == 404
    too_long_key = await send(edge, alice, bob, "hi", "k" * 65)
    assert too_long_key.status_code == 400


async def test_followers_only_setting(edge: httpx.AsyncClient,
                                      make_account: MakeAccount) -> None:
    alice, bob = await make_account("fa"), await make_account("fb")
    settings = await edge.get("/v1/messaging/settings", headers=bob.bearer)
    assert settings.json()["settings"]["allowMessagesFrom"] == "ALLOW_MESSAGES_FROM_EVERYONE"
    changed = await edge.patch("/v1/messaging/settings",
                               json={"allowMessagesFrom": "ALLOW_MESSAGES_FROM_FOLLOWED"},
                               headers=bob.bearer)
    assert changed.status_code == 200, changed.text
    kept = await edge.patch("/v1/messaging/settings", json={}, headers=bob.bearer)
    assert kept.json()["settings"]["allowMessagesFrom"] == "ALLOW_MESSAGES_FROM_FOLLOWED"

    refused = await send(edge, alice, bob, "can I?")
    assert refused.status_code == 403, refused.text
    followed = await edge.post(f"/v1/users/{bob.user_id}/follow",
                               json={"targetUserId": str(alice.user_id)}, headers=bob.bearer)
    assert followed.status_code == 200, followed.text
    assert (await send(edge, alice, bob, "now I can")).status_code == 200
    # Bob's setting does not limit Bob.
    assert (await send(edge, bob, alice, "sure")).status_code == 200


async def test_unread_counts_under_concurrent_sends_and_mark_read(
        edge: httpx.AsyncClient, make_account: MakeAccount) -> None:
    alice, bob = await make_account("ua"), await make_account("ub")
    results = await asyncio.gather(*(send(edge, bob, alice, f"m{i}") for i in range(20)))
    assert {r.status_code for r in results} == {200}
    ids = sorted((int(r.json()["message"]["messageId"]) for r in results), reverse=True)
    await sent(edge, alice, bob, "my own message is never unread for me")

    listed = (await conversations(edge, alice))["conversations"]
    assert listed[0]["unreadCount"] == 20
    assert listed[0]["lastReadMessageId"] == "0"

    tenth_newest = ids[9]
    r = await mark_read(edge, alice, bob, str(tenth_newest))
    assert r.status_code == 200, r.text
    assert r.json()["unreadCount"] == 9
    assert r.json()["lastReadMessageId"] == str(tenth_newest)
    # Never backwards: marking an older message changes nothing.
    older = (await mark_read(edge, alice, bob, str(ids[-1]))).json()
    assert older["unreadCount"] == 9
    assert older["lastReadMessageId"] == str(tenth_newest)
    everything = (await mark_read(edge, alice, bob)).json()
    assert everything.get("unreadCount", 0) == 0
    listed = (await conversations(edge, alice))["conversations"]
    assert listed[0].get("unreadCount", 0) == 0
    assert (await mark_read(edge, alice, bob, "12345")).status_code == 404
    # Bob has read nothing of Alice's single message.
    assert (await conversations(edge, bob))["conversations"][0]["unreadCount"] == 1


async def test_message_pagination_newest_first(edge: httpx.AsyncClient,
                                               make_account: MakeAccount) -> None:
    alice, bob, carol = (await make_account("ga"), await make_account("gb"),
                         await make_account("gc"))
    sent_ids = [(await sent(edge, alice if i % 2 else bob, bob if i % 2 else alice,
                            f"n{i}"))["messageId"] for i in range(5)]
    seen, token = [], ""
    for _ in range(5):
        page = await messages(edge, alice, bob, pageSize=2, pageToken=token)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [m["messageId"] for m in body["messages"]]
        token = body.get("nextPageToken", "")
        if not token:
            break
    assert seen == list(reversed(sent_ids))
    # A token of this conversation is refused for another one.
    first = (await messages(edge, alice, bob, pageSize=2)).json()["nextPageToken"]
    await sent(edge, alice, carol, "hello")
    assert (await messages(edge, alice, carol, pageToken=first)).status_code == 400
    assert (await messages(edge, alice, bob, pageToken="garbage!")).status_code == 400


async def test_conversation_list_newest_first_with_pages(edge: httpx.AsyncClient,
                                                         make_account: MakeAccount) -> None:
    me = await make_account("la")
    peers = [await make_account(f"l{i}") for i in range(3)]
    for peer in peers:
        await sent(edge, me, peer, f"to {peer.username}")
    await sent(edge, peers[0], me, "bump")  # peer 0 becomes the most recent
    expected = [peers[0], peers[2], peers[1]]
    seen, token = [], ""
    while True:
        body = await conversations(edge, me, pageSize=2, pageToken=token)
        seen += [c["peer"]["userId"] for c in body["conversations"]]
        token = body.get("nextPageToken", "")
        if not token:
            break
    assert seen == [str(p.user_id) for p in expected]
