"""Trending hashtags over a sliding window, in Redis.

Per minute and hashtag, a HyperLogLog of the users who used it; per minute, a
sorted set of hashtags scored by how many new users used them that minute.
The trend count of a hashtag is the cardinality of the union of its
HyperLogLogs over the window, so one account counts once per hashtag per
window however much it posts (HyperLogLog is exact for small sets and within
about 1% beyond). Adding is idempotent: a redelivered tweet adds nothing.

A tweet that gives a place (an ISO 3166-1 alpha-2 code) also counts in that
place's own keys (`tr:<place>:<minute>:...`), ranked the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from services.shared.stores.redis_client import RedisClient

CANDIDATES_PER_RESULT = 5


@dataclass(frozen=True)
class TrendCount:
    hashtag: str
    users: int


def _scope(place: str) -> str:
    """The key prefix of worldwide trends ("") or of a place's. The hash tag
    keeps a scope's keys in one slot: its top query unions and counts them."""
    return f"tr:{{{place or '*'}}}:"


class Trends:
    def __init__(self, redis: RedisClient, *, window_minutes: int = 60) -> None:
        self._redis = redis
        self.window_minutes = window_minutes
        self._ttl = (window_minutes + 10) * 60

    async def record(self, hashtags: list[str], user_id: int, at_epoch: float, *,
                     place: str = "") -> None:
        minute = int(at_epoch // 60)
        scopes = [_scope(""), _scope(place)] if place else [_scope("")]
        for tag in {h.lower() for h in hashtags}:
            for scope in scopes:
                users_key = f"{scope}{minute}:u:{tag}"
                if await self._redis.pfadd(users_key, str(user_id)):
                    async with self._redis.pipeline(transaction=False) as pipe:
                        pipe.expire(users_key, self._ttl)
                        pipe.zincrby(f"{scope}{minute}:top", 1, tag)
                        pipe.expire(f"{scope}{minute}:top", self._ttl)
                        await pipe.execute()

    def window(self, now: float | None = None) -> tuple[int, int]:
        """(first minute, last minute) of the window ending now."""
        last = int((now if now is not None else time.time()) // 60)
        return last - self.window_minutes + 1, last

    async def top(self, limit: int, now: float | None = None, *,
                  place: str = "") -> list[TrendCount]:
        """The top hashtags, worldwide or of one place."""
        first, last = self.window(now)
        minutes = range(first, last + 1)
        scope = _scope(place)
        scratch = f"{scope}scratch:{first}:{last}"
        # Candidates by summed per-minute counts, then exact distinct users.
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zunionstore(scratch, [f"{scope}{m}:top" for m in minutes], aggregate="SUM")
            pipe.zrevrange(scratch, 0, limit * CANDIDATES_PER_RESULT - 1)
            pipe.delete(scratch)
            _, candidates, _ = await pipe.execute()
        tags = [c.decode() for c in candidates]
        async with self._redis.pipeline(transaction=False) as pipe:
            for tag in tags:
                # As a raw command: redis-py refuses PFCOUNT in a cluster pipeline
                # (it cannot know the keys share a slot; the scope's tag does).
                pipe.execute_command("PFCOUNT", *[f"{scope}{m}:u:{tag}" for m in minutes])
            counts = await pipe.execute()
        ranked = sorted((TrendCount(t, int(c)) for t, c in zip(tags, counts, strict=True)
                         if c), key=lambda t: (-t.users, t.hashtag))
        return ranked[:limit]
