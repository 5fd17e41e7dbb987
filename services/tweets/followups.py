"""Follow-up writes: what a committed change implies outside its own partition.

A change commits in one tweet partition (see outbox.py); the index rows in
other tables and the reply count of a parent follow it. Each step is
idempotent, so the request path and the outbox relay may both run it, in any
order and as often as they like:

- Index rows (user_tweets, tweet_likers, user_likes) are keyed by a unique id
  and written at a timestamp derived from that id; their delete is written one
  microsecond later. A late replay of the insert therefore loses to an earlier
  delete, and the outcome never depends on the order in which steps run.
- A parent's reply count moves together with a reply row in the parent's
  partition (one compare-and-set batch), so a replayed step finds the row and
  counts nothing. Removing a reply that was never counted leaves a "removed"
  row behind, so a late replay of the add cannot count a deleted reply.
- A retweet's own partition is created with IF NOT EXISTS and retired with
  `deleted = true`, which a late creation does not overwrite.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from services.shared.errors import Unavailable
from services.shared.ids import id_time
from services.shared.keyed_lock import KeyedLocks
from services.tweets.domain import Kind, Revision, TweetRecord
from services.tweets.repository import Count, RowKind, TweetStore, write_time

Step = dict[str, int]
MAX_ATTEMPTS = 40


def index(user: int, tweet: int, kind: Kind, retweet_of: int = 0) -> Step:
    return {"op": 0, "user": user, "tweet": tweet, "kind": int(kind), "original": retweet_of}


def unindex(user: int, tweet: int) -> Step:
    return {"op": 1, "user": user, "tweet": tweet}


def add_reply(parent: int, reply: int) -> Step:
    return {"op": 2, "parent": parent, "reply": reply}


def remove_reply(parent: int, reply: int) -> Step:
    return {"op": 3, "parent": parent, "reply": reply}


def add_like(tweet: int, user: int, like: int) -> Step:
    return {"op": 4, "tweet": tweet, "user": user, "like": like}


def remove_like(tweet: int, user: int, like: int) -> Step:
    return {"op": 5, "tweet": tweet, "user": user, "like": like}


def create_retweet(retweet: int, user: int, original: int) -> Step:
    return {"op": 6, "retweet": retweet, "user": user, "original": original}


def retire_retweet(retweet: int) -> Step:
    return {"op": 7, "retweet": retweet}


def touched(steps: list[Step]) -> list[int]:
    """The other tweets whose stored view these steps change (a parent's reply
    count, a retweet's own partition)."""
    return [step[key] for step in steps for key in ("parent", "retweet") if key in step]


def retweet_record(retweet: int, user: int, original: int) -> TweetRecord:
    created = id_time(retweet)
    return TweetRecord(
        tweet_id=retweet, user_id=user, kind=Kind.RETWEET,
        current=Revision(1, "", [], [], [], created), media_ids=[], created_at=created,
        edited_at=None, like_count=0, retweet_count=0, reply_count=0, reply_to=0,
        retweet_of=original, deleted=False,
    )


async def backoff(attempt: int) -> None:
    """Jittered pause before retrying a compare-and-set another writer won."""
    await asyncio.sleep(random.uniform(0, min(0.002 * 2 ** attempt, 0.05)))  # noqa: S311


class FollowUps:
    def __init__(self, store: TweetStore, locks: KeyedLocks) -> None:
        self._store = store
        self._locks = locks
        self._steps: dict[int, Callable[..., Awaitable[None]]] = {
            0: self._index, 1: self._unindex, 2: self._add_reply, 3: self._remove_reply,
            4: self._add_like, 5: self._remove_like, 6: self._create_retweet,
            7: self._retire_retweet,
        }

    async def run(self, steps: list[Step]) -> None:
        for step in steps:
            args: dict[str, Any] = {k: v for k, v in step.items() if k != "op"}
            await self._steps[step["op"]](**args)

    async def _index(self, user: int, tweet: int, kind: int, original: int) -> None:
        await self._store.plain("index", (user, tweet, kind, original, write_time(tweet)))

    async def _unindex(self, user: int, tweet: int) -> None:
        await self._store.plain("unindex", (write_time(tweet) + 1, user, tweet))

    async def _add_like(self, tweet: int, user: int, like: int) -> None:
        at = write_time(like)
        await asyncio.gather(self._store.plain("add_liker", (tweet, like, user, at)),
                             self._store.plain("add_user_like", (user, like, tweet, at)))

    async def _remove_like(self, tweet: int, user: int, like: int) -> None:
        at = write_time(like) + 1
        await asyncio.gather(self._store.plain("remove_liker", (at, tweet, like)),
                             self._store.plain("remove_user_like", (at, user, like)))

    async def _create_retweet(self, retweet: int, user: int, original: int) -> None:
        record = retweet_record(retweet, user, original)
        await self._store.conditional(
            self._store.statement("insert_tweet_if_new", self._store.tweet_values(record)))

    async def _retire_retweet(self, retweet: int) -> None:
        await self._store.conditional(self._store.statement("mark_deleted", (retweet,)))

    async def _add_reply(self, parent: int, reply: int) -> None:
        store = self._store
        async with self._locks.hold([str(parent)]):
            for attempt in range(MAX_ATTEMPTS):
                fresh = attempt > 0
                if await store.edge(parent, RowKind.REPLY, reply, serial=fresh) is not None:
                    return  # counted already, or the reply was deleted first
                tweet = await store.get(parent, serial=fresh)
                if tweet is None:
                    return
                ok, _ = await store.conditional(
                    store.statement("insert_edge", (parent, int(RowKind.REPLY), reply, 0,
                                                    id_time(reply), False)),
                    store.set_count(Count.REPLIES, parent, tweet.reply_count,
                                    tweet.reply_count + 1))
                if ok:
                    return
                await backoff(attempt)
        raise Unavailable("reply count is contended")

    async def _remove_reply(self, parent: int, reply: int) -> None:
        store = self._store
        async with self._locks.hold([str(parent)]):
            for attempt in range(MAX_ATTEMPTS):
                fresh = attempt > 0
                edge = await store.edge(parent, RowKind.REPLY, reply, serial=fresh)
                if edge is None:
                    # Never counted: leave a removed row so a late add counts nothing.
                    ok, _ = await store.conditional(store.statement(
                        "insert_edge", (parent, int(RowKind.REPLY), reply, 0,
                                        datetime.now(UTC), True)))
                elif edge.removed:
                    return
                else:
                    tweet = await store.get(parent, serial=fresh)
                    if tweet is None:
                        return
                    ok, _ = await store.conditional(
                        store.statement("remove_reply_edge", (parent, reply)),
                        store.set_count(Count.REPLIES, parent, tweet.reply_count,
                                        tweet.reply_count - 1))
                if ok:
                    return
                await backoff(attempt)
        raise Unavailable("reply count is contended")
