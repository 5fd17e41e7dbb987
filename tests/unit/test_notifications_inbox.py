"""What a user reads of their notifications (services/notifications/inbox.py)
over an in-memory store: groups newest first, rows left behind by racing
regroups, hidden actors neither named nor counted, read positions and counts."""

from __future__ import annotations

import time

import pytest

from services.notifications.domain import (
    RECENT_ACTORS,
    Group,
    Kind,
    Target,
    bucket_of,
    notification_id,
)
from services.notifications.inbox import Inbox
from services.notifications.repository import FeedRow
from services.notifications.visibility import BlocksAndMutes
from services.shared.errors import InvalidArgument
from tests.fakes.notifications import FakeNotificationStore
from tests.fakes.relations import FakeRelationsCache

ME, ALICE, BOB, CAROL, DAVE, TROLL = 1, 2, 3, 4, 5, 6
WINDOW = 3600
# The start of the previous grouping window, so the minutes the tests use
# (0 to 59) all fall in one window.
BASE_MS = (int(time.time()) // WINDOW - 1) * WINDOW * 1000


def nid(minutes: int, event: str = "") -> int:
    return notification_id(BASE_MS + minutes * 60_000, event or f"e{minutes}")


def group(kind: Kind, target_id: int, actors: tuple[int, ...], latest: int, *,
          count: int | None = None, recipient: int = ME) -> Group:
    return Group(Target(recipient, kind, target_id), bucket_of(latest, WINDOW),
                 len(actors) if count is None else count, actors, latest)


class World:
    def __init__(self) -> None:
        self.store = FakeNotificationStore()
        self.relations = FakeRelationsCache()
        self.inbox = Inbox(self.store, BlocksAndMutes(self.relations), window_seconds=WINDOW)


@pytest.fixture
def w() -> World:
    return World()


async def test_groups_come_newest_first_with_their_unread_flags(w: World) -> None:
    like = group(Kind.LIKE, 100, (ALICE, BOB), nid(1))
    follow = group(Kind.FOLLOW, ME, (CAROL,), nid(2))
    mention = group(Kind.MENTION, 101, (DAVE,), nid(3))
    for g in (like, follow, mention):
        w.store.put(g)
    await w.store.set_read_position(ME, nid(2))
    shown, token = await w.inbox.page(ME, 10, "")
    assert [(s.group.key, s.unread) for s in shown] == [
        (mention.key, True), (follow.key, False), (like.key, False)]
    assert token == ""


async def test_pages_follow_each_other_without_repeats(w: World) -> None:
    made = [group(Kind.LIKE, 100 + i, (ALICE,), nid(i)) for i in range(5)]
    for g in made:
        w.store.put(g)
    seen, token = [], ""
    while True:
        shown, token = await w.inbox.page(ME, 2, token)
        seen += [s.group.key for s in shown]
        if not token:
            break
    assert seen == [g.key for g in reversed(made)]
    _, token = await w.inbox.page(ME, 2, "")
    with pytest.raises(InvalidArgument):
        await w.inbox.page(ALICE, 2, token)  # another user's token


async def test_a_row_behind_its_groups_newest_part_is_skipped_and_removed(w: World) -> None:
    old = group(Kind.LIKE, 100, (ALICE,), nid(1))
    w.store.put(old)
    new = group(Kind.LIKE, 100, (BOB, ALICE), nid(2))  # a later like regrouped it
    w.store.put(new)
    before_us = time.time_ns() // 1000
    shown, _ = await w.inbox.page(ME, 10, "")
    assert [s.group.latest_id for s in shown] == [new.latest_id]
    ((row, at),) = w.store.removed
    assert row.latest_id == old.latest_id
    # Removed for good (at the present): the group's newest id never goes back.
    assert at >= before_us


async def test_an_emptied_groups_row_is_removed_at_the_groups_write_time(w: World) -> None:
    w.store.put(group(Kind.LIKE, 100, (), nid(1), count=0), written_at=777)
    shown, _ = await w.inbox.page(ME, 10, "")
    assert shown == []
    assert [at for _, at in w.store.removed] == [777]


async def test_a_row_whose_group_is_gone_is_skipped(w: World) -> None:
    target = Target(ME, Kind.LIKE, 100)
    w.store.rows[ME] = {FeedRow(nid(1), target, bucket_of(nid(1), WINDOW))}
    assert await w.inbox.page(ME, 10, "") == ([], "")


async def test_hidden_actors_are_neither_named_nor_counted(w: World) -> None:
    w.store.put(group(Kind.LIKE, 100, (TROLL, ALICE, BOB), nid(1)))
    w.relations.mute(ME, TROLL)
    (shown,), _ = await w.inbox.page(ME, 10, "")
    assert shown.group.recent_actor_ids == (ALICE, BOB)
    assert shown.group.actor_count == 2


async def test_a_group_of_only_hidden_actors_is_left_out_and_the_page_still_fills(
        w: World) -> None:
    for i in range(3):
        w.store.put(group(Kind.LIKE, 100 + i, (ALICE,), nid(i)))
    w.store.put(group(Kind.LIKE, 200, (TROLL,), nid(10)))
    w.store.put(group(Kind.LIKE, 201, (TROLL,), nid(11)))
    w.relations.block(TROLL, ME)  # blocked by them: hidden too
    shown, _ = await w.inbox.page(ME, 2, "")
    assert [s.group.target.target_id for s in shown] == [102, 101]


async def test_at_most_the_recent_few_actors_are_named_but_all_are_counted(
        w: World) -> None:
    actors = (ALICE, BOB, CAROL, DAVE, 7, 8)
    w.store.put(group(Kind.LIKE, 100, actors, nid(1), count=40))
    (shown,), _ = await w.inbox.page(ME, 10, "")
    assert shown.group.recent_actor_ids == actors[:RECENT_ACTORS]
    assert shown.group.actor_count == 40


async def test_unread_counts_each_group_once_and_leave_hidden_ones_out(w: World) -> None:
    like = group(Kind.LIKE, 100, (ALICE,), nid(1))
    w.store.put(like)
    w.store.put(group(Kind.FOLLOW, ME, (BOB,), nid(2)))
    w.store.rows[ME].add(FeedRow(nid(1) + 1, like.target, like.bucket))  # a racing row
    w.store.put(group(Kind.MENTION, 300, (TROLL,), nid(3)))
    assert await w.inbox.unread(ME) == (3, 0)
    w.relations.mute(ME, TROLL)
    count, position = await w.inbox.unread(ME)
    assert (count, position) == (2, 0)


async def test_mark_read_moves_to_now_never_past_it_and_never_back(w: World) -> None:
    w.store.put(group(Kind.LIKE, 100, (ALICE,), nid(1)))
    w.store.put(group(Kind.LIKE, 101, (BOB,), nid(2)))
    assert await w.inbox.mark_read(ME, nid(1)) == (1, nid(1))
    assert (await w.inbox.mark_read(ME, 1))[1] == nid(1)  # not back
    count, position = await w.inbox.mark_read(ME, 0)  # 0: everything up to now
    assert count == 0
    assert position >= nid(2)
    future = notification_id(int(time.time() * 1000) + 3_600_000, "later")
    _, capped = await w.inbox.mark_read(ME, future)
    assert capped < future  # notifications still to come stay unread
    with pytest.raises(InvalidArgument) as caught:
        await w.inbox.mark_read(ME, -1)
    assert [v.field for v in caught.value.violations] == ["up_to_notification_id"]


async def test_is_unread_needs_someone_in_the_group_past_the_position(w: World) -> None:
    fresh = group(Kind.LIKE, 100, (ALICE,), nid(2))
    await w.store.set_read_position(ME, nid(1))
    assert await w.inbox.is_unread(ME, fresh)
    assert not await w.inbox.is_unread(ME, group(Kind.LIKE, 100, (), nid(2), count=0))
    assert not await w.inbox.is_unread(ME, group(Kind.LIKE, 100, (ALICE,), nid(0)))


async def test_list_names_are_read_for_list_added_groups_only(w: World) -> None:
    groups = [group(Kind.LIST_ADDED, 900, (ALICE,), nid(1)),
              group(Kind.LIKE, 901, (BOB,), nid(2))]
    w.store.label_of[(ME, Kind.LIST_ADDED, 900)] = "Friends"
    w.store.label_of[(ME, Kind.LIST_ADDED, 901)] = "not asked for"
    assert await w.inbox.list_names(ME, groups) == {900: "Friends"}
