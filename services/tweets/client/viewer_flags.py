"""Which tweets a viewer likes and retweeted, for a whole page in one Redis call.

`vf:{viewer}` is a set holding `l<tweet id>` for each like, `r<tweet id>` for
each retweet, and `~` once the set is complete (materialised from Cassandra by
the tweets service, the only writer). A set without `~`, or no set, means
"unknown": the reader asks the store instead. The viewer's own like or retweet
updates a complete set before the RPC answers (read your writes). Changes by
one viewer may race (two devices, two replicas): each carries the write time
of the state it records, and `vf:{viewer}:at` keeps the newest time recorded
per member, so an older state never replaces a newer one.

Materialising races with the viewer's writes, so it takes a lease
(`vf:{viewer}:lease`): every write deletes the lease, and the loader stores
its result only if its lease is still there, i.e. no write happened while it
read Cassandra. A loser simply leaves the set unknown for the next attempt.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterable, Sequence

from services.shared.observability.logging import get_logger
from services.shared.resilience.breaker import CircuitBreaker
from services.shared.stores.redis_client import REDIS_ERRORS, AnyPipeline, RedisClient

log = get_logger(__name__)

COMPLETE = "~"
TTL_MS = 3600 * 1000
LEASE_MS = 30_000
MAX_MEMBERS = 20_000  # heavier users are answered from the store
CHUNK = 1000

Flags = tuple[set[int], set[int]]  # (liked, retweeted) tweet ids

# KEYS: set, lease, times; ARGV: member, "1" to add or "0" to remove, write time, TTL ms.
_RECORD = """
local newer = tonumber(ARGV[3])
local seen = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '-1')
if newer < seen then
  return 0
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[2] == '1' then
    redis.call('SADD', KEYS[1], ARGV[1])
  else
    redis.call('SREM', KEYS[1], ARGV[1])
  end
end
return 1
"""

# KEYS: set, lease; ARGV: lease token, TTL ms, "start" or "more" or "done", members...
_LOAD = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
if ARGV[3] == 'start' then
  redis.call('DEL', KEYS[1])
end
if #ARGV > 3 then
  redis.call('SADD', KEYS[1], unpack(ARGV, 4))
end
if ARGV[3] == 'done' then
  redis.call('SADD', KEYS[1], '~')
  redis.call('DEL', KEYS[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def _key(viewer: int) -> str:
    return f"vf:{{{viewer}}}"


def _times(viewer: int) -> str:
    return f"vf:{{{viewer}}}:at"


def _lease(viewer: int) -> str:
    return f"vf:{{{viewer}}}:lease"


class ViewerFlags:
    def __init__(self, redis: RedisClient, *, breaker: CircuitBreaker | None = None) -> None:
        self._redis = redis
        self.breaker = breaker or CircuitBreaker("viewer_flags")
        self._record = redis.register_script(_RECORD)
        self._load = redis.register_script(_LOAD)
        self._unsettled: set[int] = set()  # viewers whose write could not be recorded

    async def get(self, viewer: int, tweet_ids: Sequence[int]) -> Flags | None:
        """(liked, retweeted) among the ids, or None when unknown."""
        if not self.breaker.allow():
            return None
        try:
            flags = await self._redis.smismember(_key(viewer), _members(tweet_ids))
        except REDIS_ERRORS:
            self.breaker.failed()
            return None
        self.breaker.succeeded()
        return _flags(tweet_ids, flags)

    def rider(self, viewer: int, tweet_ids: Sequence[int]) -> FlagsRider:
        """The same question, asked in another lookup's round trip."""
        return FlagsRider(viewer, list(tweet_ids))


    async def record(self, viewer: int, tweet_id: int, *, at: int, liked: bool | None = None,
                     retweeted: bool | None = None) -> None:
        """The viewer's like or retweet state of a tweet as stored, written at
        `at` (microseconds), after a change of theirs."""
        changes = [(f"l{tweet_id}", liked), (f"r{tweet_id}", retweeted)]
        try:
            for member, on in changes:
                if on is not None:
                    await self._record(keys=[_key(viewer), _lease(viewer), _times(viewer)],
                                       args=[member, "1" if on else "0", at, TTL_MS])
        except REDIS_ERRORS:
            # The set may now be wrong: it is dropped as soon as Redis answers.
            self._unsettled.add(viewer)
            self.breaker.failed()
            log.warning("viewer flags not recorded; the set will be dropped", viewer=viewer)

    async def settle(self) -> None:
        """Drops the sets of viewers whose writes could not be recorded (periodic)."""
        if not self._unsettled:
            return
        viewers = list(self._unsettled)
        try:
            await self._redis.delete(*(_key(v) for v in viewers))
        except REDIS_ERRORS:
            return
        self._unsettled.difference_update(viewers)

    async def lease(self, viewer: int) -> str | None:
        """A token to materialise the viewer's set, or None (another loader has it)."""
        token = secrets.token_hex(8)
        try:
            got = await self._redis.set(_lease(viewer), token, nx=True, px=LEASE_MS)
        except REDIS_ERRORS:
            return None
        return token if got else None

    async def store(self, viewer: int, token: str, liked: Iterable[int],
                    retweeted: Iterable[int]) -> bool:
        """Writes the complete set if no write of the viewer's intervened."""
        members = [f"l{t}" for t in liked] + [f"r{t}" for t in retweeted]
        if len(members) > MAX_MEMBERS:
            # Too many to keep: hold the lease for a while, so the store is not
            # read in full on every page (the viewer's next write releases it).
            with contextlib.suppress(*REDIS_ERRORS):
                await self._redis.set(_lease(viewer), "too-many", px=TTL_MS)
            return False
        chunks = [members[i:i + CHUNK] for i in range(0, len(members), CHUNK)]
        stages = [("start", []), *(("more", c) for c in chunks), ("done", [])]
        try:
            for stage, chunk in stages:
                if not await self._load(keys=[_key(viewer), _lease(viewer)],
                                        args=[token, TTL_MS, stage, *chunk]):
                    return False
        except REDIS_ERRORS:
            return False
        return True


class FlagsRider:
    def __init__(self, viewer: int, tweet_ids: list[int]) -> None:
        self._viewer = viewer
        self._ids = tweet_ids
        self.flags: Flags | None = None

    def queue(self, pipe: AnyPipeline) -> None:
        pipe.smismember(_key(self._viewer), _members(self._ids))

    def read(self, result: Sequence[int | bool]) -> None:
        self.flags = _flags(self._ids, result)


def _members(tweet_ids: Sequence[int]) -> list[str]:
    return [COMPLETE, *(f"l{t}" for t in tweet_ids), *(f"r{t}" for t in tweet_ids)]


def _flags(tweet_ids: Sequence[int], found: Sequence[int | bool]) -> Flags | None:
    if not found[0]:
        return None
    n = len(tweet_ids)
    liked = {t for t, f in zip(tweet_ids, found[1:n + 1], strict=True) if f}
    retweeted = {t for t, f in zip(tweet_ids, found[n + 1:], strict=True) if f}
    return liked, retweeted


def union(a: Flags | None, b: Flags | None) -> Flags | None:
    """Flags of two sets of tweets together; unknown if either is."""
    if a is None or b is None:
        return None
    return a[0] | b[0], a[1] | b[1]
