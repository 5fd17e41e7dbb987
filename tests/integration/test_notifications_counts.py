"""Notification counts in O(1) per change (issue 32, item 5), on the real
Cassandra: what a like costs does not grow with the likes the tweet has,
counts stay exact under redelivery and racing workers, and hidden actors are
subtracted exactly whether or not they are among the named ones.

The notifier is driven directly (the worker's handlers call the same methods)
through a `Cql` that counts the statements and rows each change costs."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any, cast

import pytest
from cassandra.query import BatchStatement, PreparedStatement
from google.protobuf.timestamp_pb2 import Timestamp
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2

from services.notifications.domain import Group, Kind, Target, bucket_of, notification_id
from services.notifications.inbox import Inbox
from services.notifications.notifier import Notifier
from services.notifications.repository import NotificationStore
from services.notifications.settings import NotificationsSettings
from services.notifications.visibility import EveryoneVisible
from services.shared.stores.cassandra import Cql, Params

WINDOW = NotificationsSettings.model_fields["group_window_seconds"].default


class CountingCql:
    """The real session, counting what goes through it."""

    def __init__(self, cql: Cql) -> None:
        self._cql = cql
        self.statements = 0
        self.rows = 0

    async def prepare(self, query: str) -> PreparedStatement:
        return await self._cql.prepare(query)

    async def execute(self, statement: PreparedStatement | BatchStatement,
                      params: Params | None = None, *, serial: bool = False) -> list[Any]:
        rows = await self._cql.execute(statement, params, serial=serial)
        self.statements += 1
        self.rows += len(rows)
        return rows

    async def execute_many(self, work: Any) -> list[list[Any]]:
        return [await self.execute(s, p) for s, p in work]


class Hiding:
    def __init__(self, hidden: set[int]) -> None:
        self.hidden = hidden

    async def hidden_actors(self, recipient_id: int, actor_ids: Any) -> set[int]:
        return self.hidden & set(actor_ids)

    async def all_hidden(self, recipient_id: int) -> set[int]:
        return set(self.hidden)

    async def hides_anyone(self, recipient_id: int) -> bool:
        return bool(self.hidden)


async def _no_tweets(ids: list[int]) -> list[tweets_pb2.Tweet]:
    return []


async def _quiet(group: Group) -> None:
    return None


@pytest.fixture
async def counting(cql: Cql) -> CountingCql:
    return CountingCql(cql)


@pytest.fixture
async def store(counting: CountingCql) -> NotificationStore:
    return await NotificationStore.open(cast(Cql, counting))


@pytest.fixture
def notifier(store: NotificationStore) -> Notifier:
    return Notifier(store, _no_tweets, EveryoneVisible(), _quiet, window_seconds=WINDOW)


def some_id() -> int:
    return random.randint(1 << 40, 1 << 60)


def like(author: int, tweet_id: int, fan: int, seconds_ago: float = 0.0) -> tweet_events.TweetLiked:
    at = Timestamp()
    at.FromNanoseconds(int((time.time() - seconds_ago) * 1e9))
    return tweet_events.TweetLiked(event_id=uuid.uuid4().hex, occurred_at=at, tweet_id=tweet_id,
                                   author_user_id=author, user_id=fan)


def unlike(liked: tweet_events.TweetLiked) -> tweet_events.TweetUnliked:
    at = Timestamp()
    at.FromNanoseconds(liked.occurred_at.ToNanoseconds() + 1_000)
    return tweet_events.TweetUnliked(event_id=uuid.uuid4().hex, occurred_at=at,
                                     tweet_id=liked.tweet_id,
                                     author_user_id=liked.author_user_id, user_id=liked.user_id)


async def counts(store: NotificationStore, target: Target) -> list[tuple[int, tuple[int, ...]]]:
    return [(s.group.actor_count, s.group.recent_actor_ids)
            for s in (await store.groups(target)).values()]


async def cost(counting: CountingCql, change: Any) -> tuple[int, int]:
    statements, rows = counting.statements, counting.rows
    await change
    return counting.statements - statements, counting.rows - rows


async def test_a_like_costs_the_same_however_many_likes_the_tweet_has(
        notifier: Notifier, counting: CountingCql, store: NotificationStore) -> None:
    author, tweet_id = some_id(), some_id()
    await notifier.liked(like(author, tweet_id, some_id()))
    early = await cost(counting, notifier.liked(like(author, tweet_id, some_id())))
    for _ in range(200):
        await notifier.liked(like(author, tweet_id, some_id()))
    late = await cost(counting, notifier.liked(like(author, tweet_id, some_id())))
    assert late == early  # statements and rows: the 2nd like and the 203rd alike
    assert late[1] <= 10
    assert (await counts(store, Target(author, Kind.LIKE, tweet_id)))[0][0] == 203
    fan = some_id()
    liked = like(author, tweet_id, fan)
    await notifier.liked(liked)
    undo = await cost(counting, notifier.unliked(unlike(liked)))
    assert undo[1] <= 10
    assert (await counts(store, Target(author, Kind.LIKE, tweet_id)))[0][0] == 203


async def test_a_like_reads_its_targets_parts_and_group_in_one_statement(
        notifier: Notifier, counting: CountingCql, store: NotificationStore) -> None:
    """A like of a tweet whose window has a group already: one read of the
    target (the part, the group, whether the tweet was deleted), one of
    notif_parts (a part from before notif_targets), the conditional batch and
    the list row. A first like adds the reads that find nothing: whether the
    target is closed, and the old group."""
    author, tweet_id = some_id(), some_id()
    await notifier.liked(like(author, tweet_id, some_id()))  # the first also trims the list
    first = await cost(counting, notifier.liked(like(author, some_id(), some_id())))
    second = await cost(counting, notifier.liked(like(author, tweet_id, some_id())))
    assert (first[0], second[0]) == (6, 4)
    assert (await counts(store, Target(author, Kind.LIKE, tweet_id)))[0][0] == 2


async def test_redelivered_and_racing_events_count_once(notifier: Notifier,
                                                        store: NotificationStore) -> None:
    author, tweet_id = some_id(), some_id()
    likes = [like(author, tweet_id, some_id(), seconds_ago=n * 0.001) for n in range(20)]
    # Every like twice, all at once, each copy to another of two workers (whose
    # conditional batches race on one partition) and one at a time.
    other = Notifier(store, _no_tweets, EveryoneVisible(), _quiet, window_seconds=WINDOW)
    await asyncio.gather(*(notifier.liked(e) for e in likes),
                         *(other.liked(e) for e in reversed(likes)),
                         *(other.liked(e) for e in likes[::3]))
    target = Target(author, Kind.LIKE, tweet_id)
    assert (await counts(store, target))[0][0] == 20
    undone = [unlike(e) for e in likes[:5]]
    await asyncio.gather(*(notifier.unliked(e) for e in undone),
                         *(other.unliked(e) for e in undone))
    await asyncio.gather(*(notifier.liked(e) for e in likes[:5]))  # late copies of the likes
    assert (await counts(store, target))[0][0] == 15
    feed = await store.feed(author, limit=10)
    assert [r.target.target_id for r in feed] == [tweet_id]


async def test_hidden_actors_are_subtracted_exactly(notifier: Notifier,
                                                    store: NotificationStore) -> None:
    author, tweet_id = some_id(), some_id()
    fans = [some_id() for _ in range(6)]  # oldest first
    for n, fan in enumerate(fans):
        await notifier.liked(like(author, tweet_id, fan, seconds_ago=(10 - n) * 0.01))

    async def seen(hidden: set[int]) -> list[tuple[int, tuple[int, ...]]]:
        shown, _ = await Inbox(store, Hiding(hidden), window_seconds=WINDOW).page(author, 10, "")
        return [(s.group.actor_count, s.group.recent_actor_ids) for s in shown]

    newest = tuple(reversed(fans))
    assert await seen(set()) == [(6, newest[:3])]
    # One named, one beyond the named three, and a stranger who never liked.
    assert await seen({fans[5], fans[0], some_id()}) == [(4, (fans[4], fans[3], fans[2]))]
    # Every named actor hidden: the others are still shown, and named.
    assert await seen({fans[5], fans[4], fans[3]}) == [(3, (fans[2], fans[1], fans[0]))]
    assert await seen(set(fans)) == []
    # The live stream's "gone" (an emptied group) is passed on, hiding or not.
    emptied = Group(Target(author, Kind.LIKE, tweet_id), 0, 0, (), 1)
    for hidden in (set(), {fans[0]}):
        relations = Hiding(hidden)
        assert await Inbox(store, relations, window_seconds=WINDOW).shown(
            author, [emptied]) == [emptied]
    inbox = Inbox(store, Hiding({fans[5], fans[4], fans[3]}), window_seconds=WINDOW)
    assert (await inbox.unread(author))[0] == 1
    assert (await Inbox(store, Hiding(set(fans)), window_seconds=WINDOW).unread(author))[0] == 0


async def test_groups_stored_before_the_change_keep_counting(
        notifier: Notifier, store: NotificationStore, cql: Cql) -> None:
    """A target notif_parts and notif_groups hold from before notif_targets:
    a new like adds to its count, an unlike of an old like takes one off."""
    author, tweet_id, old_fans = some_id(), some_id(), [some_id(), some_id()]
    earlier = [like(author, tweet_id, fan, seconds_ago=5 - n) for n, fan in enumerate(old_fans)]
    ids = []
    for event in earlier:
        at_us = event.occurred_at.ToMicroseconds()
        nid = notification_id(at_us // 1000, event.event_id)
        ids.append(nid)
        await cql.execute(await cql.prepare(
            "INSERT INTO notif_parts (recipient_id, kind, target_id, actor_id, notification_id)"
            " VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?"),
            (author, int(Kind.LIKE), tweet_id, event.user_id, nid, at_us))
    bucket = bucket_of(ids[-1], WINDOW)
    await cql.execute(await cql.prepare(
        "INSERT INTO notif_groups (recipient_id, kind, target_id, bucket, actor_count,"
        " recent_actor_ids, latest_id) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        (author, int(Kind.LIKE), tweet_id, bucket, 2, list(reversed(old_fans)), ids[-1]))
    target = Target(author, Kind.LIKE, tweet_id)
    assert await counts(store, target) == [(2, tuple(reversed(old_fans)))]
    await notifier.liked(earlier[0])  # redelivered: already counted
    newcomer = some_id()
    await notifier.liked(like(author, tweet_id, newcomer))
    assert await counts(store, target) == [(3, (newcomer, old_fans[1], old_fans[0]))]
    await notifier.unliked(unlike(earlier[1]))
    assert await counts(store, target) == [(2, (newcomer, old_fans[0]))]


async def test_a_like_handled_after_its_tweets_deletion_makes_nothing(
        notifier: Notifier, store: NotificationStore) -> None:
    author, tweet_id = some_id(), some_id()
    first, late = like(author, tweet_id, some_id(), 2), like(author, tweet_id, some_id(), 1)
    await notifier.liked(first)
    deleted = tweet_events.TweetDeleted(event_id=uuid.uuid4().hex, tweet_id=tweet_id,
                                        author_user_id=author)
    deleted.occurred_at.FromNanoseconds(time.time_ns())
    await notifier.tweet_deleted(deleted)
    await notifier.liked(late)
    await notifier.tweet_deleted(deleted)  # redelivered
    assert await store.groups(Target(author, Kind.LIKE, tweet_id)) == {}
    assert await store.feed(author, limit=10) == []
