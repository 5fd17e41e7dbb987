"""The tweet cache: a bounded in-process hot tier in front of a Redis warm tier,
with Cassandra (behind the tweets service) as the cold tier.

The tweets service is the only writer; readers (the tweets service itself and
the timeline service) read through `TweetCache.get`. Redis keys:

- `tw:<gen>:{<tweet_id>}` (hash-tagged by tweet, so entries spread over a
  cluster): `b"<version>|<extend>|"` + a serialized CachedTweet
  (twitter/tweets/v1/cache.proto). `version` is the newest Cassandra write time
  of the tweet's row (microseconds; every write to a tweet partition is a Paxos
  round, whose timestamps only grow), so a Lua script replaces an entry only by
  a strictly newer one: a reader that filled the cache from a read taken before
  an edit landed can never overwrite the edit. `extend` is 1 when the view has
  no media URL (which expire), and then every hit extends the entry's TTL.
- `tw:gen`: the generation. A writer that could not update Redis after a change
  (Redis unreachable) bumps it once Redis answers again, so every entry older
  than the outage is ignored from then on.
- `tw:inval`: a stream of changed tweet ids. The tweets service appends after
  every change it has written to the warm tier (not after a create: nothing
  can be cached of a tweet before it exists); every reader reads the stream
  in the same pipeline as its warm-tier lookups and drops those ids from its
  hot tier. A change whose RPC has returned is therefore never hidden by a hot
  copy, in any process: the next lookup anywhere reads the stream entry first.
  On a cluster the stream and an entry answer from different nodes, in no
  order, so a value read in the same lookup as its own id's invalidation is
  answered but not kept hot: it may predate the change.

Counts: the tweets service refreshes the entry after every change it commits
(likes, retweets, replies included) before it answers, so counts in the cache
are as exact as Cassandra's; only while Redis is unreachable for a writer can
an entry lag, and the generation bump retires it when Redis is back.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import Counter, Histogram
from redis.exceptions import ConnectionError as RedisConnectionError
from twitter.tweets.v1 import cache_pb2

from services.shared.observability.logging import get_logger
from services.shared.resilience.breaker import CircuitBreaker
from services.shared.stores.redis_client import REDIS_ERRORS, AnyPipeline, RedisClient, slot_groups

log = get_logger(__name__)

GENERATION = "tw:gen"
INVALIDATIONS = "tw:inval"
INVALIDATIONS_KEPT = 100_000  # stream entries kept (approximately)
SYNC_BATCH = 1000  # a reader further behind than this drops its whole hot tier
# A change whose new view could not be read is marked unknown for a few seconds:
# readers go to the store, and no fill of a view read before the change can land.
UNKNOWN = b"x"
UNKNOWN_MS = 5000
GENERATION_RETRIES = 3  # writes resent under a generation that moved meanwhile

LOOKUPS = Counter("tweet_cache_lookups_total", "Tweet cache lookups by tier and outcome.",
                  ["tier", "result"])
EVICTIONS = Counter("tweet_cache_evictions_total", "Hot-tier entries evicted or expired.",
                    ["tier"])
# Bound once: labels() is a locked dictionary lookup, and a page counts several times.
HOT_HITS, HOT_MISSES = LOOKUPS.labels("hot", "hit"), LOOKUPS.labels("hot", "miss")
WARM_HITS, WARM_MISSES = LOOKUPS.labels("warm", "hit"), LOOKUPS.labels("warm", "miss")
WARM_DOWN = LOOKUPS.labels("warm", "unavailable")
HOT_EVICTED, HOT_EXPIRED = EVICTIONS.labels("hot"), EVICTIONS.labels("hot_expired")
FILL_SECONDS = Histogram("tweet_cache_fill_seconds", "Writing entries to the warm tier.",
                         buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1))

# KEYS: entry keys; ARGV[1]: TTL in ms. Values of hits; entries without media
# (extend flag 1) live on for another TTL.
_GET = """
local out = {}
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value then
    local bar = string.find(value, '|', 1, true)
    if string.sub(value, bar + 1, bar + 1) == '1' then
      redis.call('PEXPIRE', key, ARGV[1])
    end
    out[i] = value
  else
    out[i] = false
  end
end
return out
"""

# KEYS: entry keys; ARGV[1]: TTL in ms, ARGV[i + 1]: the value for KEYS[i].
# An entry is replaced only by a strictly newer version.
_PUT = """
local written = 0
for i, key in ipairs(KEYS) do
  local value = ARGV[i + 1]
  local version = tonumber(string.match(value, '^(%d+)|'))
  local current = redis.call('GET', key)
  if (not current) or tonumber(string.match(current, '^(%d+)|')) < version then
    redis.call('SET', key, value, 'PX', ARGV[1])
    written = written + 1
  end
end
return written
"""


@dataclass(frozen=True)
class Versioned:
    """A view and the Cassandra write time it was read at."""

    version: int
    entry: cache_pb2.CachedTweet


# Queues more commands on a write's pipeline (their answers are not read).
Queue = Callable[[AnyPipeline], None]


class Rider(Protocol):
    """A command for another key that shares a lookup's round trip."""

    def queue(self, pipe: AnyPipeline) -> None: ...

    def read(self, result: Any) -> None: ...


class Riders:
    """Several riders on one lookup, each with its one command."""

    def __init__(self, *riders: Rider) -> None:
        # Flattened: the lookup reads each rider's one command itself.
        self.riders: tuple[Rider, ...] = tuple(
            r for rider in riders
            for r in (rider.riders if isinstance(rider, Riders) else (rider,)))

    def queue(self, pipe: AnyPipeline) -> None:
        for rider in self.riders:
            rider.queue(pipe)

    def read(self, result: Any) -> None:
        raise TypeError("TweetCache reads each rider of a Riders itself")


class HotTier:
    """The in-process tier: LRU, bounded, entries expire `ttl` seconds after they
    were stored. An OrderedDict keeps every operation a C call or two: a page
    looks up dozens of ids per request."""

    def __init__(self, maxsize: int, ttl: float) -> None:
        self._items: OrderedDict[int, tuple[cache_pb2.CachedTweet, float]] = OrderedDict()
        self._maxsize = maxsize
        self._ttl = ttl

    def get(self, key: int, now: float) -> cache_pb2.CachedTweet | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= now:
            del self._items[key]
            HOT_EXPIRED.inc()
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: int, entry: cache_pb2.CachedTweet, now: float) -> None:
        self._items[key] = (entry, now + self._ttl)
        self._items.move_to_end(key)
        if len(self._items) > self._maxsize:
            self._items.popitem(last=False)
            HOT_EVICTED.inc()

    def peek(self, keys: Iterable[int], now: float) -> dict[int, cache_pb2.CachedTweet]:
        """The unexpired entries among the keys, their order and counts untouched."""
        found = {}
        for key in keys:
            item = self._items.get(key)
            if item is not None and item[1] > now:
                found[key] = item[0]
        return found

    def __contains__(self, key: int) -> bool:
        return key in self._items

    def pop(self, key: int) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


def _encode(item: Versioned) -> bytes:
    extend = b"0" if item.entry.media_expire_ms else b"1"
    return b"%d|%s|" % (item.version, extend) + item.entry.SerializeToString()


def _position(stream_id: bytes) -> tuple[int, int]:
    ms, _, seq = stream_id.partition(b"-")
    return int(ms), int(seq or 0)


def _in_order(size: int, groups: list[list[int]], answers: list[Any]) -> list[bytes | None]:
    """Per-group script answers back in the order of the keys."""
    values: list[bytes | None] = [None] * size
    for group, found in zip(groups, answers, strict=True):
        for i, raw in zip(group, found, strict=True):
            values[i] = raw
    return values


def _decode(raw: bytes) -> cache_pb2.CachedTweet | None:
    _, flag, body = raw.split(b"|", 2)
    if flag == UNKNOWN:
        return None
    return cache_pb2.CachedTweet.FromString(body)


def _expired(entry: cache_pb2.CachedTweet, now_ms: float) -> bool:
    """Whether the entry's media URLs have expired (entries without media never do)."""
    return bool(entry.media_expire_ms) and entry.media_expire_ms < now_ms


class TweetCache:
    def __init__(self, redis: RedisClient, *, hot_size: int = 50_000, hot_ttl_seconds: float = 30.0,
                 warm_ttl_seconds: int = 600, breaker: CircuitBreaker | None = None,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis
        self._clock, self._monotonic = clock, monotonic  # injectable: tests move time
        self._hot = HotTier(hot_size, hot_ttl_seconds)
        self._warm_ttl_ms = warm_ttl_seconds * 1000
        self.breaker = breaker or CircuitBreaker("tweet_cache")
        self._generation: int | None = None
        self._stream_at: bytes | None = None
        self._dirty = False  # a change could not be written: bump the generation

    @property
    def generation(self) -> int | None:
        """The generation as the last lookup read it (None before the first)."""
        return self._generation

    def lost_write(self) -> None:
        """A writer of something keyed under this cache could not reach Redis:
        the generation is bumped once it can (retry_pending), as after a
        change of an entry that could not be written."""
        self._dirty = True

    def _key(self, tweet_id: int) -> str:
        return f"tw:{self._generation}:{{{tweet_id}}}"

    # Reads ----------------------------------------------------------------------

    async def get(self, tweet_ids: Sequence[int], rider: Rider | None = None
                  ) -> dict[int, cache_pb2.CachedTweet]:
        """The cached entries among the ids (deleted ones included, marked so); the
        rest are misses for the caller to read from the store. With Redis down,
        everything is a miss: the hot tier cannot be trusted without the stream.
        A rider's commands travel in the same round trip (it hears nothing when
        Redis is down)."""
        if not tweet_ids or not self.breaker.allow():
            WARM_DOWN.inc(len(tweet_ids))
            return {}
        try:
            if self._generation is None:
                await self._start()
            found = await self._lookup(list(dict.fromkeys(tweet_ids)), rider)
        except REDIS_ERRORS:
            self.breaker.failed()
            log.warning("tweet cache unreachable; reading from the store", exc_info=True)
            WARM_DOWN.inc(len(tweet_ids))
            return {}
        self.breaker.succeeded()
        return found

    def peek(self, tweet_ids: Iterable[int]) -> dict[int, cache_pb2.CachedTweet]:
        """This process's copies of these tweets, unchecked: what a page can
        guess from before its lookup (which checks what it returns)."""
        return self._hot.peek(tweet_ids, self._monotonic())

    async def _start(self) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            # A missing generation (a new Redis, or the key evicted) starts at the
            # clock, so a number in use before can never come back with its
            # possibly stale entries.
            pipe.set(GENERATION, int(self._clock() * 1000), nx=True)
            pipe.get(GENERATION)
            pipe.xrevrange(INVALIDATIONS, count=1)
            _, generation, last = await pipe.execute()
        self._generation = int(generation)
        self._stream_at = last[0][0] if last else b"0-0"

    async def _lookup(self, ids: list[int], rider: Rider | None = None
                      ) -> dict[int, cache_pb2.CachedTweet]:
        now_ms = self._clock() * 1000
        now = self._monotonic()
        # A hot entry whose media URLs expired is a miss too (its warm copy is).
        hot = {t: e for t in ids
               if (e := self._hot.get(t, now)) is not None and not _expired(e, now_ms)}
        cold = [t for t in ids if t not in hot]
        sent_from = self._stream_at or b"0-0"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(GENERATION)
            pipe.xread({INVALIDATIONS: sent_from}, count=SYNC_BATCH)
            groups = self._queue_get(pipe, cold)
            if rider is not None:
                rider.queue(pipe)
            results = await pipe.execute()
        riders = () if rider is None else rider.riders if isinstance(rider, Riders) else (rider,)
        for each, result in zip(riders, results[len(results) - len(riders):], strict=True):
            each.read(result)
        values = _in_order(len(cold), groups, results[2:2 + len(groups)])
        if results[0] is None:  # the generation key is gone: start a new one
            await self._start()
            self._hot.clear()
            return await self._lookup(ids, rider)
        generation, changes = int(results[0]), results[1]
        if generation != self._generation:
            self._generation = generation
            self._hot.clear()
            # The values read were of the old generation.
            return await self._lookup(ids, rider)
        observed, changed = self._forget(changes)
        observed = observed or sent_from
        # Another lookup, answered after this one was read, may already have
        # applied newer invalidations: then these values must not become hot.
        current = _position(self._stream_at or b"0-0") <= _position(observed)
        found = {t: e for t, e in hot.items() if t in self._hot}
        HOT_HITS.inc(len(found))
        HOT_MISSES.inc(len(ids) - len(found))
        stale = [t for t in hot if t not in found]
        if stale:  # changed since they were hot: read them again
            found |= await self._lookup(stale)
        for tweet_id, raw in zip(cold, values, strict=True):
            entry = _decode(raw) if raw else None
            if entry is None or _expired(entry, now_ms):
                continue
            found[tweet_id] = entry
            # Nor a value whose change this lookup heard of: on a cluster the
            # stream and the entry are on different nodes, so the entry may
            # have been read before the change's write and the stream after
            # it; kept hot, it would outlive the only invalidation it gets.
            if current and tweet_id not in changed:
                self._hot.put(tweet_id, entry, now)
        hits = sum(1 for t in cold if t in found)
        WARM_HITS.inc(hits)
        WARM_MISSES.inc(len(cold) - hits)
        return found

    def _queue_get(self, pipe: Any, tweet_ids: list[int]) -> list[list[int]]:
        """Queues the warm-tier reads of `tweet_ids`: one script call per slot
        (on a cluster, a pipeline per node), all of them on a single Redis."""
        keys = [self._key(t) for t in tweet_ids]
        groups = slot_groups(pipe, keys)
        for group in groups:
            # EVAL, not a registered script: a pipeline with scripts first asks
            # Redis whether they are loaded, which is a round trip of its own.
            pipe.eval(_GET, len(group), *(keys[i] for i in group), self._warm_ttl_ms)
        return groups

    def _forget(self, changes: list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]
                ) -> tuple[bytes | None, set[int]]:
        """Drops the changed ids from the hot tier; returns the last stream id
        read and the ids it named."""
        last, named = None, set()
        for _, entries in changes or []:
            if len(entries) >= SYNC_BATCH:
                self._hot.clear()  # too far behind to trust any hot entry
            for entry_id, fields in entries:
                for raw in fields.get(b"ids", b"").split(b","):
                    if raw:
                        named.add(int(raw))
                        self._hot.pop(int(raw))
                last = entry_id
        if last is not None and (self._stream_at is None
                                 or _position(last) > _position(self._stream_at)):
            self._stream_at = last
        return last, named

    def _queue_put(self, pipe: Any, values: Sequence[tuple[int, bytes]], ttl_ms: int) -> None:
        """Queues the versioned writes of `values`: one script call per slot."""
        keys = [self._key(t) for t, _ in values]
        for group in slot_groups(pipe, keys):
            pipe.eval(_PUT, len(group), *(keys[i] for i in group), ttl_ms,
                      *(values[i][1] for i in group))

    async def recently_changed(self, count: int) -> list[int]:
        """The ids most recently changed (liked, retweeted, replied to, edited),
        newest first: what to warm the hot tier with."""
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await self._redis.xrevrange(
            INVALIDATIONS, count=count)  # type: ignore[assignment]
        ids = (int(raw) for _, fields in entries for raw in fields.get(b"ids", b"").split(b",")
               if raw)
        return list(dict.fromkeys(ids))[:count]

    # Writes (the tweets service only) ----------------------------------------------

    async def fill(self, items: Iterable[tuple[int, Versioned]]) -> None:
        """Stores entries read from the store on a miss (never over a newer one)."""
        pairs = list(items)
        if not pairs or not self.breaker.allow() or self._generation is None:
            return
        started = time.perf_counter()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                self._queue_put(pipe, [(t, _encode(v)) for t, v in pairs], self._warm_ttl_ms)
                await pipe.execute()
        except REDIS_ERRORS:
            self.breaker.failed()
            log.warning("tweet cache fill failed", exc_info=True)
            return
        self.breaker.succeeded()
        FILL_SECONDS.observe(time.perf_counter() - started)

    async def changed(self, items: Sequence[tuple[int, Versioned]]) -> None:
        """After a committed change: the new entries, then the invalidation that
        makes every process drop its hot copies. When Redis cannot take them the
        generation is bumped as soon as it can, retiring every older entry."""
        await self._write(items, announce=True)

    async def created(self, items: Sequence[tuple[int, Versioned]],
                      also: Queue | None = None) -> None:
        """New tweets' first entries: as `changed`, without the invalidation. No
        process can hold a copy of a tweet from before it existed (a hot copy is
        of a warm entry, which only this write or a fill of the same version made),
        so the stream entry would only cost every reader its parsing. `also`
        queues commands to ride the same round trip; when it fails, the
        generation is bumped (as for the entries), retiring what is keyed under it."""
        await self._write(items, announce=False, also=also)

    async def _write(self, items: Sequence[tuple[int, Versioned]], *, announce: bool,
                     also: Queue | None = None) -> None:
        if not items:
            return
        for tweet_id, _ in items:
            self._hot.pop(tweet_id)
        try:
            if self._generation is None or self._dirty:
                await self._start()
            if self._dirty:
                self._generation = int(await self._redis.incr(GENERATION))
                self._hot.clear()
                self._dirty = False
            encoded = [(t, _encode(v)) for t, v in items]

            def queue(pipe: AnyPipeline) -> None:
                self._queue_put(pipe, encoded, self._warm_ttl_ms)
                if announce:
                    pipe.xadd(INVALIDATIONS, {"ids": ",".join(str(t) for t, _ in items)},
                              maxlen=INVALIDATIONS_KEPT, approximate=True)
                if also is not None:
                    also(pipe)
            await self._under_current_generation(queue)
        except REDIS_ERRORS:
            self._dirty = True
            self.breaker.failed()
            log.warning("tweet cache update failed; its generation will be bumped",
                        exc_info=True)
            return
        self.breaker.succeeded()

    async def _under_current_generation(self, queue: Queue) -> None:
        """Sends a change's writes keyed under this process's generation, with
        the generation read in the same round trip; if another process has
        bumped it since this one last looked (a process that only writes may
        not look for a long time), they landed where no reader looks, so they
        are sent again under the new one. Without this, a delete written under
        the old generation left the new one's live entry to every reader."""
        for _ in range(GENERATION_RETRIES):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(GENERATION)
                queue(pipe)
                current = (await pipe.execute())[0]
            if current is not None and int(current) == self._generation:
                return
            self._hot.clear()
            if current is None:  # the key is gone: start a new generation
                await self._start()
            else:
                self._generation = int(current)
        raise RedisConnectionError("the tweet cache's generation kept moving during a write")

    async def unknown(self, tweet_ids: Sequence[int]) -> None:
        """After a committed change whose new view could not be read: the entries
        become "unknown" (a miss for every reader) under a version newer than the
        change, so that no fill of an older read can take their place."""
        for tweet_id in tweet_ids:
            self._hot.pop(tweet_id)
        marker = b"%d|%s|" % (int(self._clock() * 1_000_000), UNKNOWN)
        try:
            if self._generation is None:
                await self._start()

            def queue(pipe: AnyPipeline) -> None:
                self._queue_put(pipe, [(t, marker) for t in tweet_ids], UNKNOWN_MS)
                pipe.xadd(INVALIDATIONS, {"ids": ",".join(map(str, tweet_ids))},
                          maxlen=INVALIDATIONS_KEPT, approximate=True)
            await self._under_current_generation(queue)
        except REDIS_ERRORS:
            self._dirty = True
            self.breaker.failed()

    async def retry_pending(self) -> None:
        """Bumps the generation if an earlier change could not be written (the
        tweets service calls this periodically, so the bump does not wait for
        the next change)."""
        if not self._dirty:
            return
        try:
            self._generation = int(await self._redis.incr(GENERATION))
            self._hot.clear()
            self._dirty = False
        except REDIS_ERRORS:
            return
