"""Hybrid fanout: what each event does to the timeline cache.

An author at or under the celebrity threshold is fanned out on write: the
tweet is added to every active follower's cached home timeline, batch by
batch as the users service pages follower ids (or at once from the author's
cached list: followers.py). A celebrity's tweets are not:
readers merge them in at read time, from the author's recent set, which list
timelines read for every member (kept for others only while one exists).
Every step is idempotent (ZADD/ZREM of the same member), so a redelivered
event simply completes what a crashed worker left half done.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Histogram
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared.fields.timestamps import from_timestamp
from services.shared.observability.logging import get_logger
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.timeline.domain import Entry
from services.timeline.followers import FollowerLists
from services.timeline.store import TimelineStore, home_key, mentions_key, recent_key

FANOUT_LAG = Histogram(
    "timeline_fanout_lag_seconds", "Tweet created to its last follower's timeline written.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
TIMELINE_WRITES = Counter("timeline_fanout_writes_total", "Home timeline inserts by fanout.")

Progress = Callable[[], Awaitable[None]]
LAG_FLUSH_SECONDS = 0.2
log = get_logger(__name__)


async def _no_progress() -> None:
    return None


class _KnownFlags:
    """Authors this process has lately seen below the threshold and made sure
    are out of the celebrity set (`tl:celebrities`), so that their next tweets
    skip that global write: most authors never change sides.

    A flag is written whenever it may have to change (an author not seen
    lately, or now above the threshold: always written, before their tweet is
    left to read time), so a crash between the flag and the fanout, or a
    redelivery, writes it again. Concurrent workers may write opposite flags
    for an author whose count crosses the threshold between their reads, as
    they could before; the entry's age bounds how long a flag another worker
    set stays unchecked here (RECHECK_SECONDS), after which it is written again."""

    RECHECK_SECONDS = 60.0
    SIZE = 100_000

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._unflagged: OrderedDict[int, float] = OrderedDict()  # author -> when written

    def unflagged(self, author_id: int) -> bool:
        written = self._unflagged.get(author_id)
        return written is not None and self._clock() - written < self.RECHECK_SECONDS

    def remember(self, author_id: int, celebrity: bool) -> None:
        self._unflagged.pop(author_id, None)
        if not celebrity:
            self._unflagged[author_id] = self._clock()
            while len(self._unflagged) > self.SIZE:
                self._unflagged.popitem(last=False)


class _LagSamples:
    """The lag samples benchmarks read (FANOUT_LAG_MS), written together at
    most `delay` seconds after the first of them instead of one round trip per
    tweet. A sample lost with the process is a benchmark figure, nothing more."""

    def __init__(self, store: TimelineStore, delay: float) -> None:
        self._store = store
        self._delay = delay
        self._pending: list[float] = []
        self._hurry = asyncio.Event()
        self._flushing: asyncio.Task[None] | None = None

    def add(self, milliseconds: float) -> None:
        self._pending.append(milliseconds)
        if self._flushing is None:
            self._flushing = asyncio.create_task(self._flush(), name="fanout-lag")

    async def flush(self) -> None:
        """Writes the pending samples now."""
        while self._flushing is not None:
            self._hurry.set()
            await asyncio.shield(self._flushing)

    async def _flush(self) -> None:
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), self._delay)
            self._hurry.clear()
            samples, self._pending = self._pending, []
            await self._store.record_lag(*samples)
        except asyncio.CancelledError:
            self._flushing = None  # the worker stops: the samples go with it
            raise
        except Exception:
            log.warning("could not record fanout lag samples", exc_info=True)
        self._flushing = None
        if self._pending:
            self._flushing = asyncio.create_task(self._flush(), name="fanout-lag")


class Fanout:
    def __init__(self, store: TimelineStore, users: UsersClient, tweets: TweetsClient, *,
                 celebrity_threshold: int, follow_backfill: int = 50,
                 clock: Callable[[], float] = time.time,
                 lag_flush_seconds: float = LAG_FLUSH_SECONDS) -> None:
        self._store = store
        self._clock = clock  # injectable: tests fix the lag they measure
        self._followers = FollowerLists(store, users, threshold=celebrity_threshold)
        self._tweets = tweets
        self._threshold = celebrity_threshold
        self._backfill = follow_backfill
        self._flags = _KnownFlags(clock)
        self._lags = _LagSamples(store, lag_flush_seconds)

    async def _mark(self, author_id: int, celebrity: bool) -> None:
        if not celebrity and self._flags.unflagged(author_id):
            return
        await self._store.mark_celebrity(author_id, celebrity)
        self._flags.remember(author_id, celebrity)

    async def tweet_created(self, event: tweet_events.TweetCreated,
                            progress: Progress = _no_progress) -> int:
        """Returns how many home timelines were written."""
        author = event.author_user_id
        entry = Entry(event.tweet_id, author)
        mentioned = {u for u in event.mention_user_ids if u != author}
        if mentioned:
            await self._store.add((mentions_key(u) for u in mentioned), entry)
        # One read tells a celebrity (count alone) from an author to fan out
        # (count and first batch of followers): the cached list, else a users call.
        first = await self._followers.first(author)
        celebrity = first.follower_count > self._threshold
        await self._mark(author, celebrity)
        if celebrity:
            await self._store.add_recent(author, entry)
            # The author's own home, if active: merged in at read time otherwise.
            return await self._store.add_to_active_homes([author], entry)
        # The author's own home, if active, goes with the first batch, and so
        # does their recent set, if kept: list timelines merge every member's
        # at read time.
        written = await self._write_homes([author, *first.ids], entry, recent_of=author)
        async for batch in self._followers.rest(author, first):
            await progress()  # a long fanout: JetStream must not redeliver it meanwhile
            written += await self._write_homes(batch, entry)
        lag = self._clock() - from_timestamp(event.created_at).timestamp() \
            if event.HasField("created_at") else 0.0
        FANOUT_LAG.observe(lag)
        self._lags.add(lag * 1000)
        return written

    async def record_lag_now(self) -> None:
        """Writes the lag samples taken so far without waiting (tests, a stop)."""
        await self._lags.flush()

    async def _write_homes(self, user_ids: list[int], entry: Entry, *,
                           recent_of: int | None = None) -> int:
        count = await self._store.add_to_active_homes(user_ids, entry, recent_of=recent_of)
        TIMELINE_WRITES.inc(count)
        return count

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
        async for batch in self._followers.every(event.author_user_id):
            await self._store.remove((home_key(u) for u in batch), entry)
            await progress()

    async def follow_created(self, event: user_events.FollowCreated) -> None:
        await self._followers.forget(event.followee_id)
        await self._store.forget_following(event.follower_id)
        if not await self._store.is_active(event.follower_id):
            return  # rebuilt on the next read anyway
        if event.followee_follower_count > self._threshold:
            return  # a celebrity: merged in at read time
        recent = await self._tweets.recent_ids(event.followee_id, self._backfill)
        await self._store.add_many(home_key(event.follower_id),
                                   (Entry(t, event.followee_id) for t in recent))

    async def follow_deleted(self, event: user_events.FollowDeleted) -> None:
        await self._followers.forget(event.followee_id)
        await self._store.forget_following(event.follower_id)
        await self._store.remove_author(event.follower_id, event.followee_id)
