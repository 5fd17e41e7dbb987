"""Notification rules: ids, windows, grouping, who a tweet notifies, unread counting."""

from __future__ import annotations

from services.notifications.domain import (
    RECENT_KEPT,
    UNREAD_CAP,
    Change,
    Group,
    Kind,
    PartState,
    Target,
    bucket_of,
    notification_id,
    now_id,
    recipients_of_tweet,
    takes_effect,
    unread_count,
    with_actor,
    without_actor,
)
from services.notifications.visibility import EveryoneVisible, visible
from services.shared.snowflake.ids import EPOCH_MS, id_time

DAY = 24 * 3600
T0 = EPOCH_MS + 100 * DAY * 1000  # a window's first millisecond


def test_an_events_notification_id_is_stable_and_time_ordered() -> None:
    assert notification_id(T0, "e1") == notification_id(T0, "e1")
    assert notification_id(T0, "e1") != notification_id(T0, "e2")
    assert notification_id(T0, "zz") < notification_id(T0 + 1, "aa")
    assert id_time(notification_id(T0, "e1")).timestamp() * 1000 == T0
    assert notification_id(T0, "e1") <= now_id(T0)


def test_windows_are_fixed_slices() -> None:
    first, last = notification_id(T0, "a"), notification_id(T0 + DAY * 1000 - 1, "b")
    assert bucket_of(first, DAY) == bucket_of(last, DAY)
    assert bucket_of(notification_id(T0 + DAY * 1000, "c"), DAY) == bucket_of(first, DAY) + 1


def test_a_group_names_its_newest_actors_and_counts_all() -> None:
    group = Group(Target(1, Kind.LIKE, 99), 0, 0, (), 0)
    for actor in range(10, 40):
        group = with_actor(group, actor, notification_id(T0 + actor, f"e{actor}"))
    assert group.actor_count == 30
    assert group.recent_actor_ids == tuple(range(39, 39 - RECENT_KEPT, -1))
    assert group.latest_id == notification_id(T0 + 39, "e39")
    older = with_actor(group, 5, notification_id(T0, "late"))  # delivered late
    assert older.recent_actor_ids[0] == 39
    assert older.latest_id == group.latest_id
    gone = without_actor(group, 39)
    assert (gone.actor_count, gone.recent_actor_ids[0]) == (29, 38)
    assert gone.key == "like:99:0"


def test_only_a_newer_event_changes_a_part() -> None:
    like = Change(7, 123, True, at_us=1_000)
    assert takes_effect(like, None)
    assert takes_effect(Change(7, 0, False, 1_000), None)  # an unlike before its like
    stored = PartState(123, True, 1_000)
    assert not takes_effect(like, stored)  # redelivered
    assert takes_effect(Change(7, 0, False, 2_000), stored)
    unliked = PartState(123, False, 2_000)
    assert not takes_effect(like, unliked)  # the like delivered after its unlike
    assert takes_effect(Change(7, 456, True, 3_000), unliked)


def test_a_reply_notifies_its_parent_author_once_and_never_the_author() -> None:
    assert recipients_of_tweet(1, [1, 2, 3], parent_author_id=2) == {2: Kind.REPLY,
                                                                   3: Kind.MENTION}
    assert recipients_of_tweet(1, [], parent_author_id=1) == {}


def test_unread_counts_each_group_once_up_to_the_cap() -> None:
    rows = [(5, "like:1:0"), (4, "like:1:0"), (3, "follow:2:0"), (1, "mention:3:0")]
    assert unread_count(rows, last_read_id=2) == 2
    many = ((n + 10, f"mention:{n}:0") for n in range(UNREAD_CAP + 5))
    assert unread_count(many, last_read_id=0) == UNREAD_CAP


async def test_no_one_is_notified_of_their_own_actions() -> None:
    # Awaited on the suite's loop: asyncio.run would close it for the tests after.
    assert not await visible(EveryoneVisible(), 5, 5)
    assert await visible(EveryoneVisible(), 5, 6)
