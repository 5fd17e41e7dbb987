"""How many live streams each user has open, across every timeline process.

`tl:{id}:streams` is a sorted set of the user's open streams (a random id
each), scored by when its lease runs out; each stream renews its lease on
every heartbeat, so the streams of a process that died free their slots
within one lease. One Lua script takes a slot atomically (drop expired
leases, count, add), so racing opens never exceed the cap.
"""

from __future__ import annotations

import contextlib
import time
import uuid

from redis.asyncio import Redis

from services.shared.logging import get_logger
from services.shared.redis_client import REDIS_ERRORS

log = get_logger(__name__)

_TAKE = """
local now, cap, expires = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= cap then return 0 end
redis.call('ZADD', KEYS[1], expires, ARGV[4])
redis.call('PEXPIREAT', KEYS[1], math.floor(expires * 1000) + 1000)
return 1
"""


def streams_key(user_id: int) -> str:
    return f"tl:{user_id}:streams"


class StreamSlots:
    def __init__(self, redis: Redis, *, per_user: int, lease_seconds: float) -> None:
        self._redis = redis
        self.per_user = per_user
        self._lease = lease_seconds
        self._take = redis.register_script(_TAKE)

    async def take(self, user_id: int) -> str | None:
        """A slot for a new stream of the user (its id), or None at the cap.
        Redis being down does not stop streams: the caller's per-process cap
        still holds."""
        slot = uuid.uuid4().hex
        now = time.time()
        try:
            taken = await self._take(keys=[streams_key(user_id)],
                                     args=[now, self.per_user, now + self._lease, slot])
        except REDIS_ERRORS:
            log.warning("stream slots unavailable; per-process cap only", user_id=user_id)
            return slot
        return slot if taken else None

    async def renew(self, user_id: int, slot: str) -> None:
        with contextlib.suppress(*REDIS_ERRORS):  # the lease runs out; the stream goes on
            await self._redis.zadd(streams_key(user_id), {slot: time.time() + self._lease},
                                   xx=True)

    async def release(self, user_id: int, slot: str) -> None:
        with contextlib.suppress(*REDIS_ERRORS):  # the lease runs out
            await self._redis.zrem(streams_key(user_id), slot)
