"""Notifications made and taken back from the events of the users and tweets
services (the worker's handlers call these): follows, additions to lists,
mentions, replies, quotes, likes, retweets and ended polls.

Every change is one actor's part made or withdrawn at its event's own time,
committed with its group's count in one conditional batch (`_apply`): a like
costs the same few rows on a tweet with 10 likes or 10 million. Exact under
redelivery and races: the count moves only in the batch that changes the
part, the part changes only for an event newer than its last change (so a
redelivered like, or a like delivered after its unlike, changes nothing),
and the batch applies only if neither the part nor the group changed since
they were read. A deleted tweet closes its target: nothing is made of it
after.
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
    Change,
    Group,
    Kind,
    PartState,
    Target,
    bucket_of,
    buckets_touched,
    newest_by_actor,
    notification_id,
    recipients_of_tweet,
    regrouped,
    takes_effect,
)
from services.notifications.repository import NotificationStore, VersionedGroup
from services.notifications.visibility import Relations, visible
from services.shared.concurrency.coalesce import Coalescer

# Tells connected readers that a group changed (live.py).
Publish = Callable[[Group], Awaitable[None]]
# Full tweets by id; deleted or missing ones left out (the tweets service).
Hydrate = Callable[[list[int]], Awaitable[list[tweets_pb2.Tweet]]]
LAG = Histogram("notification_lag_seconds",
                "From the event (a like, follow, mention...) to its group written.",
                buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
TRIM_EVERY_SECONDS = 60.0
_TRIMMED_REMEMBERED = 10_000
# Conditional batches that lose a race are retried this often, then the event
# is left to redelivery.
_COMMIT_ATTEMPTS = 20
# Changes of one target committed in one batch at most (a batch stays small).
_BATCH_PARTS = 50


class Contended(RuntimeError):
    """A target changed under every attempt: the event is nacked and redelivered."""


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
        self._trimmed: OrderedDict[int, float] = OrderedDict()
        self._pending: dict[Target, list[Change]] = {}
        self._commits: Coalescer[Target, None] = Coalescer(self._commit_pending)

    # The building blocks.

    async def add(self, target: Target, actor_id: int, event_id: str, at: Timestamp, *,
                  own: bool = False) -> None:
        """One actor's part, unless the recipient does not see the actor. `own`:
        the recipient is the actor (their own poll ended), which nobody hides."""
        if not own and not await visible(self._relations, target.recipient_id, actor_id):
            return
        at_us = _micros(at)
        await self._apply(target, Change(actor_id, notification_id(at_us // 1000, event_id),
                                         True, at_us))
        LAG.observe(max(0.0, time.time() - at_us / 1e6))

    async def withdraw(self, target: Target, actor_id: int, at: Timestamp) -> None:
        at_us = _micros(at)
        await self._apply(target, Change(actor_id, 0, False, at_us))

    async def withdraw_target(self, target: Target, at: Timestamp) -> None:
        at_us = _micros(at)
        groups = await self._store.close(target, at_us)
        await self._store.remove_target(target, at_us)
        for group in groups:
            emptied = Group(target, group.bucket, 0, (), group.latest_id)
            await self._store.show_in_feed(emptied, group.latest_id)
            await self._publish(emptied)

    async def _apply(self, target: Target, change: Change) -> None:
        """Queues the change and waits for a commit of its target that
        started after it: concurrent changes of one target (a burst of likes)
        share one conditional batch instead of racing each other's."""
        self._pending.setdefault(target, []).append(change)
        await self._commits.run(target)

    async def _commit_pending(self, target: Target) -> None:
        """Commits the target's queued changes, up to _BATCH_PARTS a batch;
        on failure they go back to the queue (and the events wait for
        redelivery, which finds them done if a later commit did them)."""
        while changes := self._pending.pop(target, []):
            now, later = changes[:_BATCH_PARTS], changes[_BATCH_PARTS:]
            if later:
                self._pending[target] = later + self._pending.get(target, [])
            try:
                await self._commit(target, now)
            except BaseException:
                self._pending[target] = now + self._pending.get(target, [])
                raise

    async def _commit(self, target: Target, changes: list[Change]) -> None:
        """Changes parts and their groups' counts in one conditional batch
        (repository.commit): rows read and written in proportion to the
        changes, however many actors the target has. The parts and the groups
        of the windows the changes add to are read in one statement. A batch
        that lost a race (another process changed a part or group since it
        read them) is retried on fresh reads. An event that changes nothing
        (redelivered, or older than its part's last change) still rewrites its
        group's list row, in case its first delivery stopped between commit
        and that."""
        newest = newest_by_actor(changes)
        adding = sorted({self._bucket(c.notification_id) for c in newest.values() if c.active})
        for attempt in range(_COMMIT_ATTEMPTS):
            serial = attempt > 0
            read = await self._store.snapshot(target, sorted(newest), adding, serial=serial)
            if read.closed is not None:
                return  # the tweet is deleted
            stored = read.parts
            effective = [c for c in newest.values() if takes_effect(c, stored[c.actor_id].state)]
            for actor, part in stored.items():
                if actor not in {c.actor_id for c in effective}:
                    await self._refresh_feed(target, part.state, read.groups)
            if not effective:
                return
            moves = [(c, stored[c.actor_id].state) for c in effective]
            buckets = sorted(buckets_touched(moves, self._window))
            before = {b: read.groups[b] if b in read.groups
                      else await self._store.versioned_group(target, b, serial=serial)
                      for b in buckets}
            after = regrouped({b: v.group for b, v in before.items()}, moves, self._window)
            if await self._store.commit(target, [(c, stored[c.actor_id]) for c in effective],
                                        [(before[b], after[b]) for b in buckets]):
                for b in buckets:
                    await self._store.show_in_feed(after[b], before[b].group.latest_id or None)
                    await self._publish(after[b])
                if any(c.active for c in effective):
                    await self._trim(target.recipient_id)
                return
        raise Contended(f"notifications of {target} kept changing; the events are redelivered")

    async def _refresh_feed(self, target: Target, part: PartState | None,
                            read: dict[int, VersionedGroup]) -> None:
        if part is None or not part.active:
            return
        bucket = self._bucket(part.notification_id)
        current = read.get(bucket) or await self._store.versioned_group(target, bucket)
        if current.version is not None:
            await self._store.show_in_feed(current.group, None)

    def _bucket(self, notification_id: int) -> int:
        return bucket_of(notification_id, self._window)

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

    async def list_member_added(self, event: user_events.ListMemberAdded) -> None:
        """"alice added you to their list L": one part per list and member,
        the owner the actor. The users service publishes this for public lists
        only; the owner adding themselves, or an owner the member does not see
        (blocked or muted), makes none (`add`). A redelivery rewrites the same
        label and finds its part done."""
        if event.owner_id == event.member_id:
            return
        target = Target(event.member_id, Kind.LIST_ADDED, event.list_id)
        # Before the part, so the group is never listed without its name.
        await self._store.set_label(target, event.list_name, _micros(event.occurred_at))
        await self.add(target, event.owner_id, event.event_id, event.occurred_at)

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
        """Mentions, a reply and a quote. The tweet is looked up with its
        parent and the tweet it quotes: one deleted before this event was
        handled notifies no one."""
        if event.kind == tweets_pb2.TWEET_KIND_RETWEET:
            return  # TweetRetweeted says it
        if not (event.mention_user_ids or event.reply_to_tweet_id or event.quoted_tweet_id):
            return
        found = {t.tweet_id: t for t in await self._hydrate(
            [i for i in (event.tweet_id, event.reply_to_tweet_id, event.quoted_tweet_id) if i])}
        if event.tweet_id not in found:
            return
        parent = found.get(event.reply_to_tweet_id)
        quoted = found.get(event.quoted_tweet_id)
        recipients = recipients_of_tweet(event.author_user_id, event.mention_user_ids,
                                         parent.user_id if parent else None,
                                         quoted.user_id if quoted else None)
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

    async def poll_ended(self, event: tweet_events.PollEnded) -> None:
        """Each voter of the page, and on page 0 the author, is told the poll
        ended (the actor is the author; a voter who blocks or is blocked by
        them is not told). One part per recipient, as for a mention."""
        voters = {v: Kind.POLL_ENDED for v in event.voter_user_ids if v != event.author_user_id}
        await self._notify_about(event.tweet_id, event.author_user_id, voters, event.event_id,
                                 event.ends_at)
        if event.page == 0:
            author = event.author_user_id
            await self._store.add_sources(event.tweet_id, {author: Kind.POLL_ENDED})
            await self.add(Target(author, Kind.POLL_ENDED, event.tweet_id), author,
                           event.event_id, event.ends_at, own=True)

    async def _notify_about(self, tweet_id: int, author_id: int, recipients: dict[int, Kind],
                            event_id: str, at: Timestamp) -> None:
        if not recipients:
            return
        # Recorded first, so a deletion handled meanwhile finds whom to take back.
        await self._store.add_sources(tweet_id, recipients)
        for user, kind in recipients.items():
            await self.add(Target(user, kind, tweet_id), author_id, event_id, at)
