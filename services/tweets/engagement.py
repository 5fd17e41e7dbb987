"""Likes and retweets (service layer), with counts that stay exact.

Each user's like (retweet) of a tweet is a row of its own, decided without a
transaction: the service reads the row, and when the call changes it, writes
the change as a redo record through pairs.py at a timestamp after the row's
last change. Counts follow from the rows through recounts (counts.py), so a
burst of likes on one tweet never queues behind a single partition's Paxos
rounds. Liking what one likes already, or unliking what one does not, changes
nothing and publishes nothing.

A user's changes to one tweet take turns within a process, so duplicate
requests (a retry, a double tap) reaching one replica get the same answer.
Across replicas the later write wins and the other's retweet is retired
(pairs.py), so the state is right although the two answers may differ.

Liking or retweeting a retweet acts on its original.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from services.shared.concurrency.keyed_lock import KeyedLocks
from services.shared.paging.cursor import LastId
from services.shared.snowflake.ids import IdGenerator
from services.tweets.client.viewer_flags import Flags, ViewerFlags
from services.tweets.domain import Author, LikeRecord
from services.tweets.pairs import PairOp, PairWriter
from services.tweets.reads import LIKERS, CachedReads, page_bound
from services.tweets.repository import Pair, RowKind, TweetStore, write_time
from services.tweets.users import UsersClient

Target = tuple[int, int]  # what a like or retweet acts on, and its author


def _after(op_id: int, pair: Pair) -> int:
    """The write time of a change: its id's, or just after the row's last change
    when a clock behind the last writer's would order it before."""
    return max(write_time(op_id), pair.written + 1)


@dataclass(frozen=True)
class Engaged:
    """What a like or retweet call answers with: the tweet to show, and the
    caller's flags for its original (known here, so no lookup is needed)."""

    shown: int
    flags: Flags


def _as_written(op: PairOp) -> Pair:
    """The row as this change wrote it (when no recount has told us better)."""
    return Pair(op.user, op.ref, alive=op.on, written=op.at)


class Engagement:
    def __init__(self, store: TweetStore, reads: CachedReads, pairs: PairWriter,
                 users: UsersClient, ids: IdGenerator, flags: ViewerFlags) -> None:
        self._store = store
        self._reads = reads
        self._pairs = pairs
        self._users = users
        self._ids = ids
        self._flags = flags
        self._turns = KeyedLocks()

    async def like(self, caller: int, tweet_id: int, *,
                   target: Target | None = None) -> Engaged:
        """Likes the tweet (its original, for a retweet). `target`: what it acts
        on and its author, when the caller looked them up already."""
        return await self._change(caller, tweet_id, RowKind.LIKE, on=True, resolved=target)

    async def unlike(self, caller: int, tweet_id: int) -> Engaged:
        return await self._change(caller, tweet_id, RowKind.LIKE, on=False)

    async def retweet(self, caller: int, tweet_id: int, *,
                      target: Target | None = None) -> Engaged:
        """Retweets the tweet (its original, for a retweet); `shown` is the
        caller's retweet (the existing one when retweeted before; the original
        when unretweeted in the meantime). `target` as for `like`."""
        return await self._change(caller, tweet_id, RowKind.RETWEET, on=True, resolved=target)

    async def unretweet(self, caller: int, tweet_id: int) -> Engaged:
        return await self._change(caller, tweet_id, RowKind.RETWEET, on=False)

    async def _change(self, caller: int, tweet_id: int, kind: RowKind, *, on: bool,
                      resolved: Target | None = None) -> Engaged:
        target, author = resolved or await self._reads.target(tweet_id)
        async with self._turns.hold([f"{target}:{caller}"]):
            rows = await self._store.engaged(target, caller)
            pair = rows[kind]
            if pair.alive != on:
                op_id = self._ids.next_id()
                op = PairOp(op_id, target, author, caller, kind, ref=op_id if on else pair.ref_id,
                            on=on, at=_after(op_id, pair))
                # Once begun, a change finishes even if its caller goes away.
                seen: Pair | None = await asyncio.shield(self._pairs.apply(op))
                pair = seen or _as_written(op)
                rows[kind] = pair
        if kind is RowKind.LIKE:
            await self._flags.record(caller, target, liked=pair.alive, at=pair.written)
        else:
            await self._flags.record(caller, target, retweeted=pair.alive, at=pair.written)
        shown = pair.ref_id if kind is RowKind.RETWEET and pair.alive else target
        flags = ({target} if rows[RowKind.LIKE].alive else set(),
                 {target} if rows[RowKind.RETWEET].alive else set())
        return Engaged(shown, flags)

    async def likers(self, tweet_id: int, page_size: int,
                     page_token: str) -> tuple[list[tuple[Author, datetime]], str]:
        req = LIKERS.request(tweet_id, page_size, page_token)
        target, _ = await self._reads.target(tweet_id)
        rows: list[LikeRecord] = await self._store.likers(target, page_bound(req), req.fetch_size)
        page, token = req.page(rows, lambda r: LastId(r.like_id))
        authors = await self._users.authors({r.user_id for r in page})
        return [(authors[r.user_id], r.liked_at) for r in page if r.user_id in authors], token
