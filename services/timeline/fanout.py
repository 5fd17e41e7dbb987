"""Hybrid fanout: what each event does to the timeline cache.

An author at or under the celebrity threshold is fanned out on write: the
tweet is added to every active follower's cached home timeline, batch by
batch as the users service pages follower ids. A celebrity's tweets are not:
readers merge them in at read time, from the author's recent set, which list
timelines read for every member (kept for others only while one exists).
Every step is idempotent (ZADD/ZREM of the same member), so a redelivered
event simply completes what a crashed worker left half done.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared.fields.timestamps import from_timestamp
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.timeline.domain import Entry
from services.timeline.store import TimelineStore, home_key, mentions_key, recent_key

FANOUT_LAG = Histogram(
    "timeline_fanout_lag_seconds", "Tweet created to its last follower's timeline written.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
TIMELINE_WRITES = Counter("timeline_fanout_writes_total", "Home timeline inserts by fanout.")

Progress = Callable[[], Awaitable[None]]


async def _no_progress() -> None:
    return None


class Fanout:
    def __init__(self, store: TimelineStore, users: UsersClient, tweets: TweetsClient, *,
                 celebrity_threshold: int, follow_backfill: int = 50,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock  # injectable: tests fix the lag they measure
        self._users = users
        self._tweets = tweets
        self._threshold = celebrity_threshold
        self._backfill = follow_backfill

    async def is_celebrity(self, author_id: int) -> bool:
        celebrity = await self._users.follower_count(author_id) > self._threshold
        await self._store.mark_celebrity(author_id, celebrity)
        return celebrity

    async def tweet_created(self, event: tweet_events.TweetCreated,
                            progress: Progress = _no_progress) -> int:
        """Returns how many home timelines were written."""
        entry = Entry(event.tweet_id, event.author_user_id)
        mentioned = {u for u in event.mention_user_ids if u != event.author_user_id}
        if mentioned:
            await self._store.add((mentions_key(u) for u in mentioned), entry)
        # The author's own home, if active: the followers' script, one round trip.
        written = await self._store.add_to_active_homes([event.author_user_id], entry)
        if await self.is_celebrity(event.author_user_id):
            await self._store.add_recent(event.author_user_id, entry)
            return written  # merged in at read time instead
        # List timelines merge every member's recent set at read time.
        await self._store.add_recent_if_kept(event.author_user_id, entry)
        async for batch in self._users.follower_batches(event.author_user_id):
            count = await self._store.add_to_active_homes(batch, entry)
            written += count
            TIMELINE_WRITES.inc(count)
            await progress()  # tells JetStream the message is still being worked on
        lag = self._clock() - from_timestamp(event.created_at).timestamp() \
            if event.HasField("created_at") else 0.0
        FANOUT_LAG.observe(lag)
        await self._store.record_lag(lag * 1000)
        return written

    async def tweet_deleted(self, event: tweet_events.TweetDeleted,
                            progress: Progress = _no_progress) -> None:
        entry = Entry(event.tweet_id, event.author_user_id)
        await self._store.remove((mentions_key(u) for u in event.mention_user_ids), entry)
        await self._store.remove([home_key(event.author_user_id),
                                  recent_key(event.author_user_id)], entry)
        if await self._store.celebrities_among([event.author_user_id]):
            return  # never fanned out, so nothing else cached to remove
        # Reads drop deleted tweets anyway (hydration leaves them out); removing
        # them here keeps pages full.
        async for batch in self._users.follower_batches(event.author_user_id):
            await self._store.remove((home_key(u) for u in batch), entry)
            await progress()

    async def follow_created(self, event: user_events.FollowCreated) -> None:
        await self._store.forget_following(event.follower_id)
        if not await self._store.is_active(event.follower_id):
            return  # rebuilt on the next read anyway
        if event.followee_follower_count > self._threshold:
            return  # a celebrity: merged in at read time
        recent = await self._tweets.recent_ids(event.followee_id, self._backfill)
        await self._store.add_many(home_key(event.follower_id),
                                   (Entry(t, event.followee_id) for t in recent))

    async def follow_deleted(self, event: user_events.FollowDeleted) -> None:
        await self._store.forget_following(event.follower_id)
        await self._store.remove_author(event.follower_id, event.followee_id)
