"""Like, retweet and reply counts derived from their rows, with no Paxos round
per like and no queue per tweet.

Each like (retweet, reply) is a row of its own, written plainly (pairs.py), so
writers of one tweet never wait for each other. A count changes only in a
*recount*: one compare-and-set on the tweet partition that moves the count, its
version and the `counted` flag of every row it looked at, together:

    read  count, version, and the rows of the members that changed
    delta = rows now alive but not counted - rows counted but no longer alive
    UPDATE count = count + delta, version = version + 1, counted = alive ...
        IF version = <the version read>

So the count always equals the rows marked counted, a replayed or duplicate
change finds its row already counted, and of two racing recounts the one that
read an older version loses and reads again. The work is per change, never per
row of the tweet, so a tweet with millions of likes costs no more to count.

A writer waits for a recount that read its row after its write (`settle`). All
writers of a tweet waiting at once share the next recount, so a burst of likes
on a hot tweet costs a few Paxos rounds a second instead of one per like, and a
liker's answer already shows their like counted. The shown count lags the rows
by at most one recount (a few milliseconds) while a writer waits; a writer that
dies before its recount leaves an outbox intent, and the relay's recount
catches up within its grace period (30 s by default).

A recount that finds nothing to change still moves the version (the same
compare-and-set, with no flag to flip). A racing recount in another replica may
have read one of its rows before that row's last change and be about to flip
its flag back: moving the version makes that compare-and-set lose, so it reads
again. (Without it, a like landing between an unlike's recount reading the row
and committing was left alive but uncounted.)
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from prometheus_client import Counter as Metric
from prometheus_client import Histogram

from services.shared.errors import Unavailable
from services.shared.observability.logging import get_logger
from services.tweets.repository import Pair, RowKind, TweetStore

log = get_logger(__name__)
MAX_ATTEMPTS = 40
RECOUNTS = Metric("tweet_recounts_total", "Recounts by outcome: committed, unchanged (only"
                  " the version moved), or lost (another recount committed first; read again).",
                  ["kind", "outcome"])
SHARED = Histogram("tweet_recount_writers", "Writers one recount settled.",
                   buckets=(1, 2, 4, 8, 16, 32, 64, 128))

# Called with a tweet whose stored view changed (the tweet cache's refresh).
Changed = Callable[[list[int]], Awaitable[None]]
Key = tuple[int, RowKind]
Waiter = tuple[int, "asyncio.Future[tuple[Pair | None, int]]"]


async def backoff(attempt: int) -> None:
    """Jittered pause before retrying a compare-and-set another writer won."""
    await asyncio.sleep(random.uniform(0, min(0.002 * 2 ** attempt, 0.05)))  # noqa: S311


class Counter:
    def __init__(self, store: TweetStore, changed: Changed) -> None:
        self._store = store
        self._changed = changed
        self._waiting: dict[Key, list[Waiter]] = {}
        self._running: dict[Key, asyncio.Task[None]] = {}

    async def settle(self, tweet_id: int, kind: RowKind, member: int) -> tuple[Pair | None, int]:
        """Waits for a recount of the tweet's count of this kind that read the
        member's row after this call; returns that row as the recount saw it
        (None when it does not exist) and the count the recount left."""
        key = (tweet_id, kind)
        future: asyncio.Future[tuple[Pair | None, int]] = (
            asyncio.get_running_loop().create_future())
        self._waiting.setdefault(key, []).append((member, future))
        if key not in self._running:
            task = asyncio.create_task(self._drain(key), name=f"recount-{tweet_id}")
            self._running[key] = task
        return await future

    async def _drain(self, key: Key) -> None:
        """Recounts while writers wait; those arriving during a recount share the next."""
        tweet_id, kind = key
        try:
            while waiters := self._waiting.pop(key, []):
                SHARED.observe(len(waiters))
                try:
                    pairs, count = await self.recount(tweet_id, kind,
                                                      sorted({m for m, _ in waiters}))
                except Exception as exc:
                    for _, future in waiters:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for member, future in waiters:
                    if not future.done():
                        future.set_result((pairs.get(member), count))
        finally:
            del self._running[key]

    async def recount(self, tweet_id: int, kind: RowKind,
                      members: list[int]) -> tuple[dict[int, Pair], int]:
        """Brings the count up to date with these members' rows."""
        for attempt in range(MAX_ATTEMPTS):
            tally = await self._store.tally(tweet_id, kind, members)
            if tally is None:
                return {}, 0
            flips = [p for p in tally.pairs.values() if p.alive != p.counted]
            count = tally.count + sum(1 if p.alive else -1 for p in flips)
            if await self._store.commit_count(tweet_id, kind, tally, count, flips):
                if not flips:
                    RECOUNTS.labels(kind.name.lower(), "unchanged").inc()
                    return tally.pairs, count
                RECOUNTS.labels(kind.name.lower(), "committed").inc()
                try:
                    await self._changed([tweet_id])
                except Exception:
                    log.warning("cache refresh after a recount failed", tweet_id=tweet_id,
                                exc_info=True)
                return tally.pairs, count
            RECOUNTS.labels(kind.name.lower(), "lost").inc()
            await backoff(attempt)
        raise Unavailable("the count is contended; try again")
