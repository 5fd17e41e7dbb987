"""Notifications made and taken back from the events of the users and tweets
services (the worker's handlers call these).

Every change is a part written or removed at its event's own time, then a
regroup of its target. Redelivery rewrites the same part (its id comes from
the event id) at the same time; an unlike or unfollow delivered before its
like is not undone by the like, whose write is older; a deleted tweet's
partition delete is newer than every like it had. Regroups of one target in a
process are coalesced, so a burst of 1,000 likes costs a handful of regroups.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import Histogram
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events

from services.notifications.domain import (
    Group,
    Kind,
    Part,
    Target,
    notification_id,
    recipients_of_tweet,
    regroup,
)
from services.notifications.repository import NotificationStore
from services.notifications.visibility import Relations, visible
from services.shared.coalesce import Coalescer

# Tells connected readers that a group changed (live.py).
Publish = Callable[[Group], Awaitable[None]]
# Full tweets by id; deleted or missing ones left out (the tweets service).
Hydrate = Callable[[list[int]], Awaitable[list[tweets_pb2.Tweet]]]
LAG = Histogram("notification_lag_seconds",
                "From the event (a like, follow, mention...) to its group written.",
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
TRIM_EVERY_SECONDS = 60.0
_TRIMMED_REMEMBERED = 10_000


def _micros(at: Timestamp) -> int:
    """An event's time in microseconds (now if it carries none)."""
    return at.ToMicroseconds() if at.seconds else time.time_ns() // 1000


class Notifier:
    def __init__(self, store: NotificationStore, hydrate: Hydrate, relations: Relations,
                 publish: Publish, *, window_seconds: int) -> None:
        self._store = store
        self._hydrate = hydrate
        self._relations = relations
        self._publish = publish
        self._window = window_seconds
        self._regroups: Coalescer[Target, list[Group]] = Coalescer(self._regroup)
        self._trimmed: OrderedDict[int, float] = OrderedDict()

    # The building blocks.

    async def add(self, target: Target, actor_id: int, event_id: str, at: Timestamp) -> None:
        """One actor's part, unless the recipient does not see the actor."""
        if not await visible(self._relations, target.recipient_id, actor_id):
            return
        at_us = _micros(at)
        part = Part(actor_id, notification_id(at_us // 1000, event_id))
        await self._store.add_part(target, part, at_us)
        await self._regroups.run(target)
        LAG.observe(max(0.0, time.time() - at_us / 1e6))

    async def withdraw(self, target: Target, actor_id: int, at: Timestamp) -> None:
        await self._store.remove_part(target, actor_id, _micros(at))
        await self._regroups.run(target)

    async def withdraw_target(self, target: Target, at: Timestamp) -> None:
        await self._store.remove_target(target, _micros(at))
        await self._regroups.run(target)

    async def _regroup(self, target: Target) -> list[Group]:
        """Rewrites the target's groups from its parts, stamped with the time
        before reading them: of racing regroups, the one that started last
        (and so read every part written before it) wins. Returns the groups
        that changed; one that emptied has actor_count 0."""
        at_us = time.time_ns() // 1000
        parts = await self._store.parts(target)
        old = await self._store.groups(target)
        new = regroup(target, parts, self._window)
        await self._store.save_groups(target, new, old, at_us)
        changed = [g for b, g in new.items() if b not in old or old[b].group != g]
        changed += [Group(target, b, 0, (), s.group.latest_id)
                    for b, s in old.items() if b not in new]
        for group in changed:
            await self._publish(group)
        if new:
            await self._trim(target.recipient_id)
        return changed

    async def _trim(self, recipient_id: int) -> None:
        """Bounds the user's list, at most once a minute per user and process."""
        now = time.monotonic()
        if now - self._trimmed.get(recipient_id, -TRIM_EVERY_SECONDS) < TRIM_EVERY_SECONDS:
            return
        self._trimmed[recipient_id] = now
        self._trimmed.move_to_end(recipient_id)
        while len(self._trimmed) > _TRIMMED_REMEMBERED:
            self._trimmed.popitem(last=False)
        await self._store.trim(recipient_id)

    # Users events.

    async def followed(self, event: user_events.FollowCreated) -> None:
        target = Target(event.followee_id, Kind.FOLLOW, event.followee_id)
        await self.add(target, event.follower_id, event.event_id, event.occurred_at)

    async def unfollowed(self, event: user_events.FollowDeleted) -> None:
        target = Target(event.followee_id, Kind.FOLLOW, event.followee_id)
        await self.withdraw(target, event.follower_id, event.occurred_at)

    # Tweets events.

    async def liked(self, event: tweet_events.TweetLiked) -> None:
        target = Target(event.author_user_id, Kind.LIKE, event.tweet_id)
        await self.add(target, event.user_id, event.event_id, event.occurred_at)

    async def unliked(self, event: tweet_events.TweetUnliked) -> None:
        target = Target(event.author_user_id, Kind.LIKE, event.tweet_id)
        await self.withdraw(target, event.user_id, event.occurred_at)

    async def retweeted(self, event: tweet_events.TweetRetweeted) -> None:
        target = Target(event.author_user_id, Kind.RETWEET, event.tweet_id)
        await self.add(target, event.user_id, event.event_id, event.occurred_at)

    async def unretweeted(self, event: tweet_events.TweetUnretweeted) -> None:
        target = Target(event.author_user_id, Kind.RETWEET, event.tweet_id)
        await self.withdraw(target, event.user_id, event.occurred_at)

    async def tweet_created(self, event: tweet_events.TweetCreated) -> None:
        """Mentions and a reply. The tweet is looked up with its parent: one
        deleted before this event was handled notifies no one."""
        if event.kind == tweets_pb2.TWEET_KIND_RETWEET:
            return  # TweetRetweeted says it
        if not event.mention_user_ids and not event.reply_to_tweet_id:
            return
        found = {t.tweet_id: t for t in await self._hydrate(
            [i for i in (event.tweet_id, event.reply_to_tweet_id) if i])}
        if event.tweet_id not in found:
            return
        parent = found.get(event.reply_to_tweet_id)
        recipients = recipients_of_tweet(event.author_user_id, event.mention_user_ids,
                                         parent.user_id if parent else None)
        await self._notify_about(event.tweet_id, event.author_user_id, recipients,
                                 event.event_id, event.occurred_at)

    async def tweet_edited(self, event: tweet_events.TweetEdited) -> None:
        """Users an edit newly mentions are notified; those it no longer
        mentions lose that notification."""
        before, after = set(event.previous_mention_user_ids), set(event.mention_user_ids)
        added = recipients_of_tweet(event.author_user_id, after - before, None)
        await self._notify_about(event.tweet_id, event.author_user_id, added,
                                 event.event_id, event.occurred_at)
        for user in before - after:
            await self.withdraw(Target(user, Kind.MENTION, event.tweet_id),
                                event.author_user_id, event.occurred_at)

    async def tweet_deleted(self, event: tweet_events.TweetDeleted) -> None:
        """Takes back what the tweet caused: its likes and retweets, and the
        mentions and reply it made."""
        if event.kind == tweets_pb2.TWEET_KIND_RETWEET:
            return  # TweetUnretweeted says it
        targets = [Target(event.author_user_id, Kind.LIKE, event.tweet_id),
                   Target(event.author_user_id, Kind.RETWEET, event.tweet_id)]
        made = await self._store.sources(event.tweet_id)
        made |= {user: Kind.MENTION for user in event.mention_user_ids if user not in made}
        targets += [Target(user, kind, event.tweet_id) for user, kind in made.items()]
        for target in targets:
            await self.withdraw_target(target, event.occurred_at)

    async def _notify_about(self, tweet_id: int, author_id: int, recipients: dict[int, Kind],
                            event_id: str, at: Timestamp) -> None:
        if not recipients:
            return
        # Recorded first, so a deletion handled meanwhile finds whom to take back.
        await self._store.add_sources(tweet_id, recipients)
        for user, kind in recipients.items():
            await self.add(Target(user, kind, tweet_id), author_id, event_id, at)
