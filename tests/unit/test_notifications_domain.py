"""Notification rules: ids, windows, grouping, who a tweet notifies, unread counting."""

from __future__ import annotations

import asyncio

from services.notifications.domain import (
    RECENT_ACTORS,
    UNREAD_CAP,
    Kind,
    Part,
    Target,
    bucket_of,
    notification_id,
    now_id,
    recipients_of_tweet,
    regroup,
    unread_count,
)
from services.notifications.visibility import EveryoneVisible, visible
from services.shared.ids import EPOCH_MS, id_time

DAY = 24 * 3600
T0 = EPOCH_MS + 100 * DAY * 1000  # a window's first millisecond


def test_an_events_notification_id_is_stable_and_time_ordered() -> None:
    assert notification_id(T0, "e1") == notification_id(T0, "e1")
    assert notification_id(T0, "e1") != notification_id(T0, "e2")
    assert notification_id(T0, "zz") < notification_id(T0 + 1, "aa")
    assert id_time(notification_id(T0, "e1")).timestamp() * 1000 == T0
    assert notification_id(T0, "e1") <= now_id(T0)


def test_parts_group_by_window_newest_first() -> None:
    target = Target(1, Kind.LIKE, 99)
    parts = [Part(actor, notification_id(T0 + actor, f"e{actor}")) for actor in range(10, 16)]
    parts.append(Part(7, notification_id(T0 + DAY * 1000, "next day")))
    groups = regroup(target, parts, DAY)
    today, tomorrow = bucket_of(parts[0].notification_id, DAY), bucket_of(
        parts[-1].notification_id, DAY)
    assert sorted(groups) == [today, tomorrow]
    assert groups[today].actor_count == 6
    assert groups[today].recent_actor_ids == (15, 14, 13)[:RECENT_ACTORS]
    assert groups[today].latest_id == parts[5].notification_id
    assert groups[today].key == f"like:99:{today}"
    assert groups[tomorrow].actor_count == 1


def test_a_reply_notifies_its_parent_author_once_and_never_the_author() -> None:
    assert recipients_of_tweet(1, [1, 2, 3], parent_author_id=2) == {2: Kind.REPLY,
                                                                   3: Kind.MENTION}
    assert recipients_of_tweet(1, [], parent_author_id=1) == {}


def test_unread_counts_each_group_once_up_to_the_cap() -> None:
    rows = [(5, "like:1:0"), (4, "like:1:0"), (3, "follow:2:0"), (1, "mention:3:0")]
    assert unread_count(rows, last_read_id=2) == 2
    many = ((n + 10, f"mention:{n}:0") for n in range(UNREAD_CAP + 5))
    assert unread_count(many, last_read_id=0) == UNREAD_CAP


def test_no_one_is_notified_of_their_own_actions() -> None:
    assert not asyncio.run(visible(EveryoneVisible(), 5, 5))
    assert asyncio.run(visible(EveryoneVisible(), 5, 6))
