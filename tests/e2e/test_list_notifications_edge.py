"""Notifications of additions to lists, through the Envoy edge: the users
service's ListMemberAdded event (outbox, public lists only, new memberships
only) made into a LIST_ADDED group by the real worker, exactly once under
repeats and redelivery, and hidden like every kind by blocks and mutes.

To assert that something made *no* notification, each test ends with an add
that does notify and waits until the worker has acknowledged it: the stream
is ordered, so any event of the earlier steps was handled by then."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from twitter.users.v1 import events_pb2 as user_events

from services.shared.contracts import subject
from services.shared.messaging import events as jetstream
from tests.support.blocks import relate
from tests.support.edge import assert_error
from tests.support.events import handled
from tests.support.lists import add, create_list
from tests.support.notifications import NOTIFICATIONS, find, gone, group_when, groups, unread
from tests.support.users import User, new_user

pytestmark = pytest.mark.e2e

KIND = "LIST_ADDED"


async def users(edge: httpx.AsyncClient, n: int) -> list[User]:
    return list(await asyncio.gather(*(new_user(edge) for _ in range(n))))


async def added(edge: httpx.AsyncClient, owner: User, list_id: str, member: User) -> None:
    r = await add(edge, owner, list_id, member)
    assert r.status_code == 200, r.text


async def handled_add(nats_url: str, list_id: str, member: User) -> None:
    """Until the worker has acknowledged the event of adding `member`."""
    def ours(event: user_events.ListMemberAdded) -> bool:
        return str(event.list_id) == list_id and str(event.member_id) == member["userId"]
    await handled(nats_url, NOTIFICATIONS, user_events.ListMemberAdded, ours)


async def redeliver_last(nats_url: str) -> user_events.ListMemberAdded:
    """Publishes the newest ListMemberAdded again under a new message id (past
    JetStream's de-duplication, as a republish after a relay crash would) and
    waits until the worker has acknowledged it."""
    nc, js = await jetstream.connect(nats_url, name="test-redeliver")
    try:
        last = await js.get_last_msg(jetstream.STREAM, subject(user_events.ListMemberAdded))
        assert last.data is not None
        event = user_events.ListMemberAdded.FromString(last.data)
        await js.publish(subject(event), last.data, headers={"Nats-Msg-Id": uuid.uuid4().hex})
    finally:
        await nc.close()
    await handled(nats_url, NOTIFICATIONS, user_events.ListMemberAdded, lambda e: e == event)
    return event


async def list_added_groups(edge: httpx.AsyncClient, user: User) -> list[dict[str, object]]:
    found = (await groups(edge, user, pageSize=100)).get("groups", [])
    return [g for g in found if g["kind"] == f"NOTIFICATION_KIND_{KIND}"]


async def test_adding_to_a_public_list_notifies_the_member_once(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    owner, member, other = await users(edge, 3)
    name = f"friends {uuid.uuid4().hex[:8]}"
    list_id = (await create_list(edge, owner, name=name))["listId"]
    await added(edge, owner, list_id, member)
    group = await group_when(edge, member, KIND, list_id, 1)
    assert group["listName"] == name  # "owner added you to their list <name>"
    assert group["groupKey"].startswith(f"list_added:{list_id}:")
    assert group["recentActorIds"] == [owner["userId"]]
    assert [a["username"] for a in group["recentActors"]] == [owner["username"]]
    assert group["unread"] is True

    # Adding again inserts nothing, so it publishes nothing: once the next
    # add's event is handled, the member still has the one notification.
    await added(edge, owner, list_id, member)
    await added(edge, owner, list_id, other)
    await handled_add(stack_env["NATS_URL"], list_id, other)
    assert await list_added_groups(edge, member) == [group]
    assert await unread(edge, member) == 1
    [others] = await list_added_groups(edge, other)
    assert others["targetId"] == list_id
    assert others["actorCount"] == 1


async def test_a_redelivered_event_changes_nothing(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    owner, member = await users(edge, 2)
    list_id = (await create_list(edge, owner))["listId"]
    await added(edge, owner, list_id, member)
    group = await group_when(edge, member, KIND, list_id, 1)
    await handled_add(stack_env["NATS_URL"], list_id, member)
    redelivered = await redeliver_last(stack_env["NATS_URL"])
    assert str(redelivered.list_id) == list_id
    # The same notification (id, time, group), not a newer one.
    assert await list_added_groups(edge, member) == [group]
    assert await unread(edge, member) == 1


async def test_private_lists_and_adding_oneself_notify_no_one(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    owner, member = await users(edge, 2)
    private = (await create_list(edge, owner, private=True))["listId"]
    public = (await create_list(edge, owner))["listId"]
    await added(edge, owner, private, member)
    await added(edge, owner, public, owner)
    await added(edge, owner, public, member)
    await handled_add(stack_env["NATS_URL"], public, member)
    found = await list_added_groups(edge, member)
    assert [g["targetId"] for g in found] == [public]
    assert find(found, KIND, private) is None
    assert await list_added_groups(edge, owner) == []


async def test_blocked_or_muted_owners_notify_no_one(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    member, muted, blocked, later = await users(edge, 4)
    await relate(edge, member, muted, "mute")
    await relate(edge, member, blocked, "block")
    muted_list, blocked_list, later_list = [
        (await create_list(edge, owner))["listId"] for owner in (muted, blocked, later)]
    await added(edge, muted, muted_list, member)
    # Blocked by the member: the member does not exist for them.
    assert_error(await add(edge, blocked, blocked_list, member), 404, 5)
    await added(edge, later, later_list, member)
    await group_when(edge, member, KIND, later_list, 1)
    await handled_add(stack_env["NATS_URL"], later_list, member)
    assert [g["targetId"] for g in await list_added_groups(edge, member)] == [later_list]
    # Blocked after: the notification already made is hidden too.
    await relate(edge, member, later, "block")
    await gone(edge, member, KIND, later_list)
    assert await unread(edge, member) == 0
