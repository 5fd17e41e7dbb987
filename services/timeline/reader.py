"""Reading timelines: cached entries merged with celebrities' recent tweets,
hydrated through the tweets service, newest first, cursor-paged by tweet id."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterable

from redis.asyncio import Redis
from twitter.tweets.v1 import tweets_pb2

from services.shared.errors import PermissionDenied
from services.shared.pagination import clamp_page_size, decode_token, encode_token
from services.shared.peers import TweetsClient, UsersClient
from services.timeline.store import Entry, TimelineStore, home_key, mentions_key

# Extra candidates per page, so tweets deleted since they were cached do not
# leave pages short.
SLACK = 10
REBUILD_PER_FOLLOWEE = 50
REBUILD_CONCURRENCY = 16
FOLLOWING_TTL_SECONDS = 300


def following_key(user_id: int) -> str:
    return f"tl:{user_id}:following"


class Reader:
    def __init__(self, store: TimelineStore, redis: Redis, users: UsersClient,
                 tweets: TweetsClient) -> None:
        self._store = store
        self._redis = redis
        self._users = users
        self._tweets = tweets

    async def home(self, caller: int, user_id: int, page_size: int,
                   page_token: str) -> tuple[list[tweets_pb2.Tweet], str]:
        _require_self(caller, user_id)
        limit = clamp_page_size(page_size)
        before = _cursor(page_token)
        if not await self._store.touch_if_active(user_id):
            await self.rebuild(user_id)
        want = limit + SLACK
        cached = await self._store.page(home_key(user_id), before_id=before, count=want)
        celebrities = await self._store.celebrities_among(await self.following(user_id))
        merged = await self._merge(cached, celebrities, before, want)
        return await self._hydrated_page(merged, user_id, limit, want)

    async def mentions(self, caller: int, user_id: int, page_size: int,
                       page_token: str) -> tuple[list[tweets_pb2.Tweet], str]:
        _require_self(caller, user_id)
        limit = clamp_page_size(page_size)
        want = limit + SLACK
        entries = await self._store.page(mentions_key(user_id), before_id=_cursor(page_token),
                                         count=want)
        return await self._hydrated_page(entries, user_id, limit, want)

    async def following(self, user_id: int) -> list[int]:
        """Whom a user follows, cached in Redis; follow events drop the cache."""
        key = following_key(user_id)
        cached = await self._redis.smembers(key)
        if cached:
            return [int(m) for m in cached if m != b"-"]
        ids = await self._users.following(user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, "-", *[str(i) for i in ids])  # "-" marks an empty list as known
            pipe.expire(key, FOLLOWING_TTL_SECONDS)
            await pipe.execute()
        return ids

    async def forget_following(self, user_id: int) -> None:
        await self._redis.delete(following_key(user_id))

    async def rebuild(self, user_id: int) -> None:
        """Materialises a missing home timeline (new, returning or evicted user)
        from the recent tweets of everyone they follow (celebrities excluded:
        they are merged at read time) and their own."""
        if not await self._store.try_lock_rebuild(user_id):
            for _ in range(50):  # someone else is rebuilding it: wait for them
                await asyncio.sleep(0.1)
                if await self._store.is_active(user_id):
                    return
        try:
            followees = await self.following(user_id)
            celebrities = set(await self._store.celebrities_among(followees))
            authors = [u for u in followees if u not in celebrities] + [user_id]
            gate = asyncio.Semaphore(REBUILD_CONCURRENCY)

            async def recent(author: int) -> list[Entry]:
                async with gate:
                    ids = await self._tweets.recent_ids(author, REBUILD_PER_FOLLOWEE)
                return [Entry(t, author) for t in ids]

            batches = await asyncio.gather(*(recent(a) for a in authors))
            newest = heapq.nlargest(self._store.capacity, (e for b in batches for e in b))
            await self._store.replace_home(user_id, newest)
        finally:
            await self._store.unlock_rebuild(user_id)

    async def _merge(self, cached: list[Entry], celebrities: Iterable[int], before: int | None,
                     want: int) -> list[Entry]:
        async def recent(author: int) -> list[Entry]:
            return [Entry(t, author) for t in await self._tweets.recent_ids(author, want)]

        recents = await asyncio.gather(*(recent(c) for c in celebrities))
        seen: set[int] = set()
        merged: list[Entry] = []
        for entry in sorted((e for batch in [cached, *recents] for e in batch), reverse=True):
            if entry.tweet_id in seen or (before is not None and entry.tweet_id >= before):
                continue
            seen.add(entry.tweet_id)
            merged.append(entry)
        return merged[:want]

    async def _hydrated_page(self, candidates: list[Entry], viewer: int, limit: int,
                             want: int) -> tuple[list[tweets_pb2.Tweet], str]:
        tweets = await self._tweets.hydrate([e.tweet_id for e in candidates], viewer)
        page = tweets[:limit]
        if len(tweets) > limit:
            return page, encode_token({"before": page[-1].tweet_id})
        if len(candidates) >= want:  # all the rest were deleted; more may follow
            return page, encode_token({"before": candidates[-1].tweet_id})
        return page, ""


def _require_self(caller: int, user_id: int) -> None:
    if caller != user_id:
        raise PermissionDenied("you may only read your own timeline")


def _cursor(page_token: str) -> int | None:
    cursor = decode_token(page_token, keys=("before",))
    return int(cursor["before"]) if cursor else None
