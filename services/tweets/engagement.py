"""Likes and retweets (service layer), with counts that stay exact.

Cassandra counters are not idempotent (a retried increment counts twice) and
cannot share a batch with normal columns, so counts are plain bigint columns
changed only by compare-and-set, in the same conditional batch as the row that
justifies the change:

    INSERT like row (tweet, user) IF NOT EXISTS
    UPDATE tweet SET like_count = n + 1 IF like_count = n AND deleted = null
    INSERT event row (tweet, operation) IF NOT EXISTS

One Paxos round applies all three or none, so the count always equals the rows:
a second like finds its row and changes nothing, a crash cannot land between
the row and the count, and of two racing writers one loses the round and
retries against the new count. The cost: writes to one tweet serialize through
Paxos (four round trips each) and contend on a hot tweet. Each process queues
changes to a tweet on a local lock, so only replicas compete; a celebrity tweet
could later be split into sub-partitions if one partition's write rate were
ever the limit. Reads are ordinary quorum reads of one partition.

Liking or retweeting a retweet acts on its original.
"""

from __future__ import annotations

from datetime import datetime

from services.shared.ids import IdGenerator, id_time
from services.shared.pagination import clamp_page_size, encode_token
from services.shared.viewer_flags import ViewerFlags
from services.tweets import events, followups
from services.tweets.domain import Author, Kind, LikeRecord
from services.tweets.outbox import Change, Outbox
from services.tweets.reads import Reader, page_bound
from services.tweets.repository import Count, RowKind, TweetStore
from services.tweets.users import UsersClient


class Engagement:
    def __init__(self, store: TweetStore, outbox: Outbox, reader: Reader, users: UsersClient,
                 ids: IdGenerator, flags: ViewerFlags) -> None:
        self._store = store
        self._flags = flags
        self._outbox = outbox
        self._reader = reader
        self._users = users
        self._ids = ids

    async def like(self, caller: int, tweet_id: int) -> int:
        """Likes the tweet (its original, for a retweet); returns the liked tweet's id."""
        target = (await self._reader.target(tweet_id)).tweet_id
        store = self._store

        async def plan(fresh: bool) -> Change | None:
            tweet = await self._reader.alive(target, serial=fresh)
            if await store.edge(target, RowKind.LIKE, caller, serial=fresh):
                return None  # liked already
            like_id = self._ids.next_id()
            count = tweet.like_count + 1
            return Change(
                [store.statement("insert_edge", (target, int(RowKind.LIKE), caller, like_id,
                                                 id_time(like_id), False)),
                 store.set_count(Count.LIKES, target, tweet.like_count, count)],
                [events.like_changed(tweet, caller, count, liked=True)],
                [followups.add_like(target, caller, like_id)])

        await self._outbox.apply(target, plan)
        await self._flags.record(caller, target, liked=True)
        return target

    async def unlike(self, caller: int, tweet_id: int) -> int:
        target = (await self._reader.target(tweet_id)).tweet_id
        store = self._store

        async def plan(fresh: bool) -> Change | None:
            tweet = await self._reader.alive(target, serial=fresh)
            edge = await store.edge(target, RowKind.LIKE, caller, serial=fresh)
            if edge is None:
                return None  # not liked
            count = tweet.like_count - 1
            return Change(
                [store.statement("delete_edge", (target, int(RowKind.LIKE), caller,
                                                 edge.ref_id)),
                 store.set_count(Count.LIKES, target, tweet.like_count, count)],
                [events.like_changed(tweet, caller, count, liked=False)],
                [followups.remove_like(target, caller, edge.ref_id)])

        await self._outbox.apply(target, plan)
        await self._flags.record(caller, target, liked=False)
        return target

    async def retweet(self, caller: int, tweet_id: int) -> int:
        """The id of the caller's retweet of the tweet (the existing one when
        retweeted before; the original's when unretweeted in the meantime)."""
        target = (await self._reader.target(tweet_id)).tweet_id
        store = self._store

        async def plan(fresh: bool) -> Change | None:
            tweet = await self._reader.alive(target, serial=fresh)
            if await store.edge(target, RowKind.RETWEET, caller, serial=fresh):
                return None  # retweeted already
            retweet_id = self._ids.next_id()
            at = id_time(retweet_id)
            count = tweet.retweet_count + 1
            return Change(
                [store.statement("insert_edge", (target, int(RowKind.RETWEET), caller,
                                                 retweet_id, at, False)),
                 store.set_count(Count.RETWEETS, target, tweet.retweet_count, count)],
                [events.retweet_created(retweet_id, caller, target, at),
                 events.retweet_changed(tweet, caller, retweet_id, count, retweeted=True)],
                [followups.create_retweet(retweet_id, caller, target),
                 followups.index(caller, retweet_id, Kind.RETWEET, target)])

        await self._outbox.apply(target, plan)
        await self._flags.record(caller, target, retweeted=True)
        edge = await store.edge(target, RowKind.RETWEET, caller, serial=True)
        return target if edge is None else edge.ref_id

    async def unretweet(self, caller: int, tweet_id: int) -> int:
        """Removes the caller's retweet; returns the original."""
        target = (await self._reader.target(tweet_id)).tweet_id
        store = self._store

        async def plan(fresh: bool) -> Change | None:
            tweet = await self._reader.alive(target, serial=fresh)
            edge = await store.edge(target, RowKind.RETWEET, caller, serial=fresh)
            if edge is None:
                return None  # not retweeted
            count = tweet.retweet_count - 1
            return Change(
                [store.statement("delete_edge", (target, int(RowKind.RETWEET), caller,
                                                 edge.ref_id)),
                 store.set_count(Count.RETWEETS, target, tweet.retweet_count, count)],
                [events.retweet_deleted(edge.ref_id, caller, target, id_time(edge.ref_id)),
                 events.retweet_changed(tweet, caller, edge.ref_id, count, retweeted=False)],
                [followups.retire_retweet(edge.ref_id),
                 followups.unindex(caller, edge.ref_id)])

        await self._outbox.apply(target, plan)
        await self._flags.record(caller, target, retweeted=False)
        return target

    async def likers(self, tweet_id: int, page_size: int,
                     page_token: str) -> tuple[list[tuple[Author, datetime]], str]:
        limit = clamp_page_size(page_size)
        target = (await self._reader.target(tweet_id)).tweet_id
        before = page_bound(page_token, "t", tweet_id)
        rows: list[LikeRecord] = await self._store.likers(target, before, limit + 1)
        page = rows[:limit]
        authors = await self._users.authors({r.user_id for r in page})
        likes = [(authors[r.user_id], r.liked_at) for r in page if r.user_id in authors]
        more = len(rows) > limit
        return likes, encode_token({"t": tweet_id, "b": page[-1].like_id}) if more else ""

