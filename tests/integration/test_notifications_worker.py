"""The notifications worker on the real stream and Cassandra: events it is
handed twice, or in the wrong order, leave the same notifications as once and
in order; and the visibility hook hides actors at read."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Collection

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from nats.js import JetStreamContext
from twitter.tweets.v1 import events_pb2 as tweet_events

from services.notifications.domain import Kind, Target
from services.notifications.inbox import Inbox
from services.notifications.repository import NotificationStore
from services.notifications.settings import NotificationsSettings
from services.notifications.visibility import Relations
from services.shared.contracts import subject
from services.shared.stores.cassandra import Cql
from tests.support.events import handled
from tests.support.notifications import NOTIFICATIONS

WINDOW = NotificationsSettings.model_fields["group_window_seconds"].default


def inbox(store: NotificationStore, relations: Relations) -> Inbox:
    return Inbox(store, relations, window_seconds=WINDOW)


@pytest.fixture
async def store(cql: Cql) -> NotificationStore:
    return await NotificationStore.open(cql)


def some_id() -> int:
    return random.randint(1 << 40, 1 << 60)


def at(seconds_from_now: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int((time.time() + seconds_from_now) * 1e9))
    return ts


async def publish(js: JetStreamContext, stack_env: dict[str, str], event: Message,
                  msg_id: str) -> None:
    """Publishes under a message id of the test's choosing (a new one gets past
    JetStream's duplicate window, as a redelivery after a crash would) and
    waits until the worker has acknowledged it."""
    await js.publish(subject(event), event.SerializeToString(), headers={"Nats-Msg-Id": msg_id})
    await handled(stack_env["NATS_URL"], NOTIFICATIONS, type(event), lambda e: e == event)


async def test_a_like_handled_twice_counts_once(js: JetStreamContext, store: NotificationStore,
                                                stack_env: dict[str, str]) -> None:
    author, tweet_id, fan = some_id(), some_id(), some_id()
    event = tweet_events.TweetLiked(event_id=uuid.uuid4().hex, occurred_at=at(0),
                                    tweet_id=tweet_id, author_user_id=author, user_id=fan)
    target = Target(author, Kind.LIKE, tweet_id)
    await publish(js, stack_env, event, event.event_id)
    first = [s.group for s in (await store.groups(target)).values()]
    await publish(js, stack_env, event, event.event_id + "-again")
    again = [s.group for s in (await store.groups(target)).values()]
    assert again == first  # the same notification (id, time, group), not a newer one
    assert [(g.actor_count, g.recent_actor_ids) for g in again] == [(1, (fan,))]
    feed = await store.feed(author, limit=10)
    assert [row.target.target_id for row in feed] == [tweet_id]


async def test_an_unlike_handled_before_its_like_wins(js: JetStreamContext,
                                                      store: NotificationStore,
                                                      stack_env: dict[str, str]) -> None:
    author, tweet_id, fan = some_id(), some_id(), some_id()
    liked = tweet_events.TweetLiked(event_id=uuid.uuid4().hex, occurred_at=at(-1),
                                    tweet_id=tweet_id, author_user_id=author, user_id=fan)
    unliked = tweet_events.TweetUnliked(event_id=uuid.uuid4().hex, occurred_at=at(0),
                                        tweet_id=tweet_id, author_user_id=author, user_id=fan)
    await publish(js, stack_env, unliked, unliked.event_id)
    await publish(js, stack_env, liked, liked.event_id)
    assert await store.groups(Target(author, Kind.LIKE, tweet_id)) == {}
    assert await store.feed(author, limit=10) == []


class Hiding:
    """A relation lookup that hides some actors (what blocks and mutes will do)."""

    def __init__(self, hidden: set[int]) -> None:
        self.hidden = hidden

    async def hidden_actors(self, recipient_id: int, actor_ids: Collection[int]) -> set[int]:
        return self.hidden & set(actor_ids)

    async def all_hidden(self, recipient_id: int) -> set[int]:
        return set(self.hidden)

    async def hides_anyone(self, recipient_id: int) -> bool:
        return bool(self.hidden)


async def test_actors_hidden_since_are_left_out_at_read(js: JetStreamContext,
                                                        store: NotificationStore,
                                                        stack_env: dict[str, str]) -> None:
    author, tweet_id, muted, fan = some_id(), some_id(), some_id(), some_id()
    for n, who in enumerate((fan, muted)):
        event = tweet_events.TweetLiked(event_id=uuid.uuid4().hex, occurred_at=at(n * 0.01),
                                        tweet_id=tweet_id, author_user_id=author, user_id=who)
        await publish(js, stack_env, event, event.event_id)
    shown, _ = await inbox(store, Hiding({muted})).page(author, 10, "")
    assert [(s.group.actor_count, s.group.recent_actor_ids) for s in shown] == [(1, (fan,))]
    assert (await inbox(store, Hiding({muted})).unread(author))[0] == 1
    shown, _ = await inbox(store, Hiding({muted, fan})).page(author, 10, "")
    assert shown == []
    assert (await inbox(store, Hiding({muted, fan})).unread(author))[0] == 0
    assert (await inbox(store, Hiding(set())).unread(author))[0] == 1


async def test_trimming_keeps_the_newest_groups(js: JetStreamContext, store: NotificationStore,
                                                stack_env: dict[str, str]) -> None:
    author, fan = some_id(), some_id()
    tweet_ids = [some_id() for _ in range(4)]
    for n, tweet_id in enumerate(tweet_ids):
        event = tweet_events.TweetLiked(event_id=uuid.uuid4().hex, occurred_at=at(n * 0.01),
                                        tweet_id=tweet_id, author_user_id=author, user_id=fan)
        await publish(js, stack_env, event, event.event_id)
    await store.trim(author, keep=2)
    assert [r.target.target_id for r in await store.feed(author, limit=10)] == [
        tweet_ids[3], tweet_ids[2]]

