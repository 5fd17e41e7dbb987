"""How events become notification groups (services/notifications/notifier.py)
over an in-memory store, read back through the inbox: grouping by target and
window, withdrawals, redelivery and out-of-order events, hidden actors, and a
deleted tweet taking back what it caused."""

from __future__ import annotations

import asyncio
import time

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events

from services.notifications.domain import Group, Kind, Target
from services.notifications.inbox import Inbox
from services.notifications.notifier import Contended, Notifier
from services.notifications.visibility import BlocksAndMutes
from tests.fakes.notifications import FakeNotificationStore
from tests.fakes.relations import FakeRelationsCache

AUTHOR, ALICE, BOB, CAROL = 1, 2, 3, 4
TWEET, PARENT = 500, 400
WINDOW = 3600
# A minute into the previous grouping window: the seconds the tests add stay in it.
NOW = (time.time() // WINDOW - 1) * WINDOW + 60


def at(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromMicroseconds(int((NOW + seconds) * 1e6))
    return ts


class World:
    def __init__(self) -> None:
        self.store = FakeNotificationStore()
        self.relations = FakeRelationsCache()
        self.published: list[Group] = []
        self.tweets: dict[int, int] = {TWEET: AUTHOR, PARENT: CAROL}  # id -> author
        visibility = BlocksAndMutes(self.relations)
        self.notifier = Notifier(self.store, self.hydrate, visibility, self.publish,
                                 window_seconds=WINDOW)
        self.inbox = Inbox(self.store, visibility, window_seconds=WINDOW)

    async def hydrate(self, ids: list[int]) -> list[tweets_pb2.Tweet]:
        return [tweets_pb2.Tweet(tweet_id=i, user_id=self.tweets[i]) for i in ids
                if i in self.tweets]

    async def publish(self, group: Group) -> None:
        self.published.append(group)

    async def shown(self, user: int) -> list[tuple[Kind, int, int, tuple[int, ...]]]:
        page, _ = await self.inbox.page(user, 50, "")
        return [(s.group.target.kind, s.group.target.target_id, s.group.actor_count,
                 s.group.recent_actor_ids) for s in page]

    async def like(self, user: int, seconds: float, event: str = "") -> None:
        await self.notifier.liked(tweet_events.TweetLiked(
            event_id=event or f"like-{user}-{seconds}", tweet_id=TWEET,
            author_user_id=AUTHOR, user_id=user, occurred_at=at(seconds)))

    async def unlike(self, user: int, seconds: float) -> None:
        await self.notifier.unliked(tweet_events.TweetUnliked(
            event_id=f"unlike-{user}-{seconds}", tweet_id=TWEET, author_user_id=AUTHOR,
            user_id=user, occurred_at=at(seconds)))


@pytest.fixture
def w() -> World:
    return World()


async def test_likes_of_one_tweet_in_one_window_make_one_group_newest_first(
        w: World) -> None:
    await w.like(ALICE, 1)
    await w.like(BOB, 2)
    assert await w.shown(AUTHOR) == [(Kind.LIKE, TWEET, 2, (BOB, ALICE))]
    assert [g.actor_count for g in w.published] == [1, 2]
    assert await w.inbox.unread(AUTHOR) == (1, 0)


async def test_a_burst_of_likes_is_counted_exactly(w: World) -> None:
    users = list(range(100, 140))
    await asyncio.gather(*(w.like(u, 1 + i / 1000) for i, u in enumerate(users)))
    ((kind, _, count, recent),) = await w.shown(AUTHOR)
    assert (kind, count) == (Kind.LIKE, 40)
    assert recent[0] == users[-1]


async def test_a_redelivered_event_changes_nothing(w: World) -> None:
    await w.like(ALICE, 1, event="e1")
    await w.like(ALICE, 1, event="e1")
    assert await w.shown(AUTHOR) == [(Kind.LIKE, TWEET, 1, (ALICE,))]


async def test_an_unlike_withdraws_and_an_older_like_arriving_late_loses_to_it(
        w: World) -> None:
    await w.like(ALICE, 1)
    await w.like(BOB, 2)
    await w.unlike(ALICE, 3)
    assert await w.shown(AUTHOR) == [(Kind.LIKE, TWEET, 1, (BOB,))]
    await w.unlike(BOB, 10)
    assert await w.shown(AUTHOR) == []
    await w.like(BOB, 5)  # redelivered late: older than the unlike
    assert await w.shown(AUTHOR) == []


async def test_an_unlike_delivered_before_its_like_wins(w: World) -> None:
    await w.unlike(ALICE, 2)
    await w.like(ALICE, 1)
    assert await w.shown(AUTHOR) == []


async def test_likes_in_different_windows_are_different_groups(w: World) -> None:
    await w.like(ALICE, 0)
    await w.like(BOB, 2 * WINDOW)
    assert await w.shown(AUTHOR) == [(Kind.LIKE, TWEET, 1, (BOB,)),
                                     (Kind.LIKE, TWEET, 1, (ALICE,))]


async def test_no_one_is_told_of_a_hidden_actor_and_a_commit_lost_is_retried(
        w: World) -> None:
    w.relations.block(AUTHOR, ALICE)
    await w.like(ALICE, 1)
    assert await w.shown(AUTHOR) == []
    assert w.published == []
    w.store.lose_next_commits = 2  # two other writers got there first
    await w.like(BOB, 2)
    assert await w.shown(AUTHOR) == [(Kind.LIKE, TWEET, 1, (BOB,))]


async def test_a_target_that_keeps_changing_is_left_to_redelivery(w: World) -> None:
    w.store.lose_next_commits = 1000
    with pytest.raises(Contended):
        await w.like(ALICE, 1)
    w.store.lose_next_commits = 0
    await w.like(ALICE, 1)  # the redelivery
    assert await w.shown(AUTHOR) == [(Kind.LIKE, TWEET, 1, (ALICE,))]


async def test_a_follow_and_an_unfollow(w: World) -> None:
    await w.notifier.followed(user_events.FollowCreated(
        event_id="f1", follower_id=ALICE, followee_id=BOB, occurred_at=at(1)))
    assert await w.shown(BOB) == [(Kind.FOLLOW, BOB, 1, (ALICE,))]
    await w.notifier.unfollowed(user_events.FollowDeleted(
        event_id="f2", follower_id=ALICE, followee_id=BOB, occurred_at=at(2)))
    assert await w.shown(BOB) == []


async def test_a_reply_with_mentions_notifies_each_once_never_the_author(w: World) -> None:
    await w.notifier.tweet_created(tweet_events.TweetCreated(
        event_id="c1", tweet_id=TWEET, author_user_id=AUTHOR, reply_to_tweet_id=PARENT,
        mention_user_ids=[CAROL, BOB, AUTHOR], occurred_at=at(1)))
    assert await w.shown(CAROL) == [(Kind.REPLY, TWEET, 1, (AUTHOR,))]
    assert await w.shown(BOB) == [(Kind.MENTION, TWEET, 1, (AUTHOR,))]
    assert await w.shown(AUTHOR) == []


async def test_a_tweet_deleted_before_its_event_is_handled_notifies_no_one(
        w: World) -> None:
    del w.tweets[TWEET]
    await w.notifier.tweet_created(tweet_events.TweetCreated(
        event_id="c1", tweet_id=TWEET, author_user_id=AUTHOR, mention_user_ids=[BOB],
        occurred_at=at(1)))
    assert await w.shown(BOB) == []


async def test_an_edit_notifies_new_mentions_and_withdraws_dropped_ones(w: World) -> None:
    await w.notifier.tweet_created(tweet_events.TweetCreated(
        event_id="c1", tweet_id=TWEET, author_user_id=AUTHOR, mention_user_ids=[BOB],
        occurred_at=at(1)))
    await w.notifier.tweet_edited(tweet_events.TweetEdited(
        event_id="e1", tweet_id=TWEET, author_user_id=AUTHOR, mention_user_ids=[ALICE],
        previous_mention_user_ids=[BOB], occurred_at=at(2)))
    assert await w.shown(BOB) == []
    assert await w.shown(ALICE) == [(Kind.MENTION, TWEET, 1, (AUTHOR,))]


async def test_deleting_a_tweet_takes_back_its_likes_mentions_and_reply(w: World) -> None:
    await w.like(ALICE, 1)
    await w.notifier.tweet_created(tweet_events.TweetCreated(
        event_id="c1", tweet_id=TWEET, author_user_id=AUTHOR, reply_to_tweet_id=PARENT,
        mention_user_ids=[BOB], occurred_at=at(1)))
    await w.notifier.tweet_deleted(tweet_events.TweetDeleted(
        event_id="d1", tweet_id=TWEET, author_user_id=AUTHOR, mention_user_ids=[BOB],
        occurred_at=at(5)))
    for user in (AUTHOR, BOB, CAROL):
        assert await w.shown(user) == [], user
    assert any(g.actor_count == 0 for g in w.published)  # live readers told it is gone
    await w.like(BOB, 6)  # a like arriving after the deletion makes nothing
    assert await w.shown(AUTHOR) == []


async def test_a_list_addition_carries_the_lists_name_and_never_notifies_the_owner(
        w: World) -> None:
    await w.notifier.list_member_added(user_events.ListMemberAdded(
        event_id="l1", list_id=77, owner_id=ALICE, member_id=BOB, list_name="Friends",
        occurred_at=at(1)))
    await w.notifier.list_member_added(user_events.ListMemberAdded(
        event_id="l2", list_id=78, owner_id=ALICE, member_id=ALICE, list_name="Me",
        occurred_at=at(1)))
    page, _ = await w.inbox.page(BOB, 10, "")
    assert [s.group.target for s in page] == [Target(BOB, Kind.LIST_ADDED, 77)]
    assert await w.inbox.list_names(BOB, [s.group for s in page]) == {77: "Friends"}
    assert await w.shown(ALICE) == []


async def test_a_poll_end_tells_its_voters_and_its_author(w: World) -> None:
    await w.notifier.poll_ended(tweet_events.PollEnded(
        event_id="p1", tweet_id=TWEET, author_user_id=AUTHOR, voter_user_ids=[ALICE, AUTHOR],
        page=0, ends_at=at(1)))
    assert await w.shown(ALICE) == [(Kind.POLL_ENDED, TWEET, 1, (AUTHOR,))]
    assert await w.shown(AUTHOR) == [(Kind.POLL_ENDED, TWEET, 1, (AUTHOR,))]
