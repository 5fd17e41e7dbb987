"""The first page of a user's tweets, kept in each process so that reading it
costs no Cassandra query (the user_tweets index): the commonest read of a
profile is its first page.

A process's copy is only ever served after a check in the same Redis round
trip that reads the page's tweets (a rider of the tweet cache's lookup): the
user's *list epoch* `ul:{<user>}` must be the one read before the copy was
read from Cassandra, and the tweet cache's generation the one then. Every
writer of the index changes the epoch after its Cassandra write:

- follow-ups (followups.py: a create, a delete, a create the relay fences)
  delete it once their rows are written; a crash in between leaves the
  outbox intent, and the relay runs the follow-ups (and this) again;
- a retweet or unretweet refreshes the retweet's cache entry after its index
  row (pairs.py, through CachedReads.refresh), which deletes the retweeter's.

A reader that finds no epoch sets one from Redis's clock (a value no earlier
epoch of that key had), so a copy read before a change can never be checked
against an epoch set after it: a create racing a fill leaves the fill's copy
unusable. A writer that cannot reach Redis marks the tweet cache dirty, whose
generation bump retires every copy. Copies also expire after a TTL (5
minutes by default), the backstop for a reset Redis lost after acknowledging
it (a failover), as the tweet cache's warm TTL is for a lost invalidation. A
check that fails (or that Redis did not answer) reads the page from
Cassandra, as every later page is.

What the page shows is decided afterwards exactly as for a page read from
Cassandra: deleted tweets, blocks and mutes are applied to the tweets, not
to the ids.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from twitter.tweets.v1 import tweets_pb2

from services.shared.observability.logging import get_logger
from services.shared.paging.cursor import LastId, PageRequest
from services.shared.stores.redis_client import REDIS_ERRORS, AnyPipeline, RedisClient
from services.tweets.client.tweet_cache import Rider, TweetCache
from services.tweets.domain import TweetRecord
from services.tweets.reads import USER_TWEETS, CachedReads

log = get_logger(__name__)

EPOCH_TTL_MS = 3_600_000  # an unread user's epoch goes; the next read sets a new one
# KEYS[1]: a user's epoch; ARGV[1]: its TTL in ms. The epoch, set from the
# server's clock (microseconds) when there is none.
_EPOCH = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  local now = redis.call('TIME')
  epoch = now[1] .. string.format('%06d', tonumber(now[2]))
  redis.call('SET', KEYS[1], epoch, 'PX', ARGV[1])
end
return epoch
"""

# A page of a user's tweet ids from Cassandra, and the next token (Tweets.list_user_tweets).
Source = Callable[[int, int, str], Awaitable[tuple[list[int], str]]]
# Reads the page's tweets, a rider on the round trip that reads them first.
Hydrate = Callable[[list[int], Rider | None], Awaitable[list[tweets_pb2.Tweet]]]


def epoch_key(user_id: int) -> str:
    return f"ul:{{{user_id}}}"


@dataclass(frozen=True)
class Copy:
    """A first page as read from Cassandra, and what it was read under."""

    user_id: int
    ids: list[int]
    token: str
    epoch: bytes
    generation: int
    expires: float


@dataclass(frozen=True)
class Listing:
    """A page's ids and next token; `copy` when they come from this process's
    copy, which the read of the tweets checks."""

    req: PageRequest[LastId]
    ids: list[int]
    token: str
    copy: Copy | None


class EpochCheck:
    """Rides along the page's tweet lookup: reads the user's epoch."""

    def __init__(self, user_id: int) -> None:
        self._key = epoch_key(user_id)
        self.epoch: bytes | None = None

    def queue(self, pipe: AnyPipeline) -> None:
        pipe.get(self._key)

    def read(self, result: Any) -> None:
        self.epoch = result


class UserPages:
    def __init__(self, source: Source, reads: CachedReads, cache: TweetCache,
                 redis: RedisClient, *,
                 size: int = 10_000, ttl_seconds: float = 30.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._reads = reads
        self._cache = cache
        self._redis = redis
        self._size, self._ttl = size, ttl_seconds
        self._monotonic = monotonic
        self._copies: OrderedDict[tuple[int, int], Copy] = OrderedDict()

    def request(self, user_id: int, page_size: int, page_token: str) -> PageRequest[LastId]:
        """The page asked for (INVALID_ARGUMENT for a bad size or token)."""
        return USER_TWEETS.request(user_id, page_size, page_token)

    async def listing(self, req: PageRequest[LastId]) -> Listing:
        """The page's ids: the process's copy of a first page (to be checked as
        the tweets are read), or what Cassandra has now."""
        user_id = req.owner
        assert isinstance(user_id, int)
        copy = self._copies.get((user_id, req.fetch_size)) if req.after is None else None
        if copy is not None and copy.expires > self._monotonic():
            return Listing(req, copy.ids, copy.token, copy)
        return await self._read(req, user_id)

    async def read(self, listing: Listing, hydrate: Hydrate
                   ) -> tuple[list[tweets_pb2.Tweet], str]:
        """The listed tweets (as `hydrate` reads them) and the next page's token;
        read again from Cassandra when the copy listed turns out stale."""
        copy = listing.copy
        if copy is None:
            return await hydrate(listing.ids, None), listing.token
        check = EpochCheck(copy.user_id)
        tweets = await hydrate(listing.ids, check)
        key = (copy.user_id, listing.req.fetch_size)
        if check.epoch == copy.epoch and self._cache.generation == copy.generation:
            if key in self._copies:
                self._copies.move_to_end(key)
            return tweets, copy.token
        if self._copies.get(key) is copy:
            del self._copies[key]
        fresh = await self._read(listing.req, copy.user_id)
        return await hydrate(fresh.ids, None), fresh.token

    async def _read(self, req: PageRequest[LastId], user_id: int) -> Listing:
        """From Cassandra; a first page is kept, under the epoch read before it."""
        first = req.after is None
        epoch = await self._epoch(user_id) if first else None
        generation = self._cache.generation
        ids, token = await self._source(user_id, req.limit, req.token(req.after))
        if epoch is not None and generation is not None and ids:
            self._keep((user_id, req.fetch_size), Copy(
                user_id, ids, token, epoch, generation, self._monotonic() + self._ttl))
        return Listing(req, ids, token, None)

    def _keep(self, key: tuple[int, int], copy: Copy) -> None:
        self._copies[key] = copy
        self._copies.move_to_end(key)
        if len(self._copies) > self._size:
            self._copies.popitem(last=False)

    async def _epoch(self, user_id: int) -> bytes | None:
        """The user's epoch (set now when there is none); None when Redis fails."""
        if not self._cache.breaker.allow():
            return None
        try:
            epoch: bytes = await self._redis.eval(
                _EPOCH, 1, epoch_key(user_id), EPOCH_TTL_MS)
        except REDIS_ERRORS:
            log.warning("user list epoch unreadable; the page is not kept", exc_info=True)
            return None
        return epoch

    async def retweets_changed(self, retweet_ids: list[int]) -> None:
        """A retweet's refresh (pairs.py), after its index row was written or
        removed: its entry, then its retweeter's pages. When the retweet cannot
        be read the copies expire by their TTL."""
        entries = await self._reads.renew(retweet_ids)
        await self.changed(e.tweet.user_id for e in entries.values())

    async def created(self, tweet: TweetRecord, indexed: set[int]) -> None:
        """A new tweet, its index rows written: its cache entry, and `changed`
        for the users indexed, in the same round trip. Should it fail, the
        cache's generation is bumped, which retires every copy as well."""
        users = sorted(indexed)
        self._drop_copies(users)

        def reset(pipe: AnyPipeline) -> None:
            for user in users:
                pipe.delete(epoch_key(user))
        if not await self._reads.created(tweet, reset if users else None):
            await self.changed(users)

    async def changed(self, user_ids: Iterable[int]) -> None:
        """After a write to these users' index rows: every copy of their pages,
        in every process, stops being served."""
        users = sorted(set(user_ids))
        if not users:
            return
        self._drop_copies(users)
        try:
            await delete_epochs(self._redis, users)
        except REDIS_ERRORS:
            log.warning("user list epochs not reset; the tweet cache's generation will be",
                        user_ids=users, exc_info=True)
            self._cache.lost_write()

    def _drop_copies(self, users: Sequence[int]) -> None:
        for key in [k for k in self._copies if k[0] in users]:
            del self._copies[key]


async def delete_epochs(redis: RedisClient, users: Sequence[int]) -> None:
    """One DEL per user (their keys are on different slots)."""
    if len(users) == 1:
        await redis.delete(epoch_key(users[0]))
        return
    async with redis.pipeline(transaction=False) as pipe:
        for user in users:
            pipe.delete(epoch_key(user))
        await pipe.execute()
