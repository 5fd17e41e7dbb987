"""The Redis timeline cache.

Per user: `tl:{id}:home` and `tl:{id}:mentions`, sorted sets whose members are
`<tweet_id>:<author_id>` (the author lets an unfollow remove an author's
entries) scored by the tweet's millisecond timestamp (a 64-bit id does not fit
a double exactly), trimmed to the newest `capacity` entries; and
`tl:{id}:active`, a marker with a TTL of the inactivity period, refreshed on
every read. The marker means "this home timeline is materialised and its owner
is active": fanout writes only to timelines that have it, and a read that
finds it missing rebuilds the timeline first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from services.shared.ids import id_time


@dataclass(frozen=True, order=True)
class Entry:
    tweet_id: int
    author_id: int

    @property
    def member(self) -> str:
        return f"{self.tweet_id}:{self.author_id}"

    @property
    def score(self) -> int:
        return int(id_time(self.tweet_id).timestamp() * 1000)

    @classmethod
    def parse(cls, member: str | bytes) -> Entry:
        text = member.decode() if isinstance(member, bytes) else member
        tweet_id, _, author_id = text.partition(":")
        return cls(int(tweet_id), int(author_id or 0))


def home_key(user_id: int) -> str:
    return f"tl:{user_id}:home"


def mentions_key(user_id: int) -> str:
    return f"tl:{user_id}:mentions"


def active_key(user_id: int) -> str:
    return f"tl:{user_id}:active"


def rebuild_lock_key(user_id: int) -> str:
    return f"tl:{user_id}:rebuilding"


# Adds one entry to the home timelines of the active users among a batch, in
# one round trip and inside Redis: KEYS are pairs (active marker, home key).
# Trimming only when a set outgrows its capacity keeps it one command per
# follower in the common case. (All keys in one script: a single Redis
# primary, or a Cluster with hash-tagged keys.)
_FANOUT = """
local member, score, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local written = 0
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('ZADD', KEYS[i + 1], score, member)
    if redis.call('ZCARD', KEYS[i + 1]) > cap then
      redis.call('ZREMRANGEBYRANK', KEYS[i + 1], 0, -cap - 1)
    end
    written = written + 1
  end
end
return written
"""

CELEBRITIES = "tl:celebrities"
FANOUT_LAG_MS = "tl:fanout_lag_ms"  # recent lag samples, for benchmarks and dashboards


class TimelineStore:
    def __init__(self, redis: Redis, *, capacity: int, inactive_after_seconds: int) -> None:
        self._redis = redis
        self.capacity = capacity
        self._inactive_after = inactive_after_seconds
        self._fanout = redis.register_script(_FANOUT)

    async def add_to_active_homes(self, user_ids: Sequence[int], entry: Entry) -> int:
        """Adds the entry to the home timelines of the active users among
        `user_ids`; returns how many were written. Idempotent (ZADD)."""
        keys = [k for u in user_ids for k in (active_key(u), home_key(u))]
        written = await self._fanout(keys=keys, args=[entry.member, entry.score, self.capacity])
        return int(written)

    async def add(self, key_of: Iterable[str], entry: Entry) -> None:
        """Adds one entry to many timelines in one pipelined round trip.

        ZADD of the same member is idempotent, so a redelivered fanout never
        duplicates an entry."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in key_of:
                pipe.zadd(key, {entry.member: entry.score})
                pipe.zremrangebyrank(key, 0, -self.capacity - 1)
            await pipe.execute()

    async def remove(self, keys: Iterable[str], entry: Entry) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zrem(key, entry.member)
            await pipe.execute()

    async def remove_author(self, user_id: int, author_id: int) -> None:
        key = home_key(user_id)
        members: list[bytes] = await self._redis.zrange(key, 0, -1)  # type: ignore[assignment]
        doomed = [m for m in members if Entry.parse(m).author_id == author_id]
        if doomed:
            await self._redis.zrem(key, *doomed)

    async def add_many(self, key: str, entries: Iterable[Entry]) -> None:
        mapping = {e.member: e.score for e in entries}
        if mapping:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, mapping)
                pipe.zremrangebyrank(key, 0, -self.capacity - 1)
                await pipe.execute()

    async def page(self, key: str, *, before_id: int | None, count: int) -> list[Entry]:
        """Entries newest first, strictly older than `before_id`."""
        max_score: float | str = "+inf"
        if before_id is not None:
            max_score = Entry(before_id, 0).score
        members: list[bytes] = await self._redis.zrevrangebyscore(  # type: ignore[assignment]
            key, max_score, "-inf", start=0, num=count + 64)
        entries = sorted((Entry.parse(m) for m in members), reverse=True)
        if before_id is not None:
            entries = [e for e in entries if e.tweet_id < before_id]
        return entries[:count]

    async def is_active(self, user_id: int) -> bool:
        return bool(await self._redis.exists(active_key(user_id)))

    async def touch_if_active(self, user_id: int) -> bool:
        """Refreshes the activity marker if present; False when the timeline is missing."""
        return bool(await self._redis.set(active_key(user_id), "1", ex=self._inactive_after,
                                          xx=True))

    async def try_lock_rebuild(self, user_id: int, seconds: int = 30) -> bool:
        return bool(await self._redis.set(rebuild_lock_key(user_id), "1", nx=True, ex=seconds))

    async def unlock_rebuild(self, user_id: int) -> None:
        await self._redis.delete(rebuild_lock_key(user_id))

    async def replace_home(self, user_id: int, entries: Iterable[Entry]) -> None:
        """Writes a rebuilt timeline and marks it active, atomically."""
        mapping = {e.member: e.score for e in entries}
        async with self._redis.pipeline(transaction=True) as pipe:
            if mapping:
                pipe.zadd(home_key(user_id), mapping)
                pipe.zremrangebyrank(home_key(user_id), 0, -self.capacity - 1)
            pipe.set(active_key(user_id), "1", ex=self._inactive_after)
            await pipe.execute()

    async def mark_celebrity(self, author_id: int, celebrity: bool) -> None:
        if celebrity:
            await self._redis.sadd(CELEBRITIES, str(author_id))
        else:
            await self._redis.srem(CELEBRITIES, str(author_id))

    async def celebrities_among(self, user_ids: Sequence[int]) -> list[int]:
        if not user_ids:
            return []
        flags = await self._redis.smismember(CELEBRITIES, [str(u) for u in user_ids])
        return [u for u, flag in zip(user_ids, flags, strict=True) if flag]

    async def record_lag(self, milliseconds: float) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(FANOUT_LAG_MS, f"{milliseconds:.1f}")
            pipe.ltrim(FANOUT_LAG_MS, 0, 9999)
            await pipe.execute()
