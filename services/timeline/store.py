"""The Redis timeline cache: every key the timeline service uses.

Per user: `tl:{id}:home` and `tl:{id}:mentions`, sorted sets whose members are
`<tweet_id>:<author_id>` (the author lets an unfollow remove an author's
entries) scored by the tweet's millisecond timestamp, trimmed to the newest
`capacity` entries; `tl:{id}:active`, a marker: `1` for a materialised
home, with a TTL of the inactivity period refreshed on every read, or
`filling` while a rebuild is under way (FILLING_TTL_SECONDS, so a crashed
rebuild's marker expires). Fanout writes to every home that has a marker,
either value; a read serves only a `1` home and rebuilds any other first. The
rebuild sets `filling` before it asks the tweets service for the followees'
recent tweets and merges them in (ZADD) when it sets `1`: a tweet stored
before the marker is in what it reads, one whose fanout ran after is written
by fanout, so none falls between the two (as for the recent sets below). And
`tl:{id}:following`, whom the user follows (with `-` so that "follows nobody"
is cached too), dropped by follow events, which first replace
`tl:{id}:following:version`: a fill stores what it read from the users
service only if the version is the one it saw before asking. A page's first
round trip also reads the reader's blocks and mutes (`rel:{id}`, owned by the
users service: services/users/client/relations.py).

Per author, for fanout: `tl:{id}:followers`, the follower count and, for an
author at or under the celebrity threshold whose followers fit in one users
call, their ids (FOLLOWERS_TTL_SECONDS), so that an author who posts again
costs fanout no users call; kept by follow events as whom a user follows is
(`tl:{id}:followers:version`), so that a follow handled while a fill asked the
users service is never overwritten by the list from before it.

Per celebrity (an author merged in at read time instead of fanned out):
`tl:{id}:recent`, their newest tweet entries (user-based caching), kept by the
fanout worker. Its `0:0` member (score 0) marks a set rebuilt from the tweets
service, i.e. complete down to its oldest entry; fanout adds to a set either
way, so a rebuild racing a new tweet never loses it. `tl:celebrities` holds
the ids of the authors above the threshold, and `{tl:celebrities}:version`
(the hash tag puts it in the set's slot) a token that every change of the set
replaces in the same script, so a reader that sees the token unchanged knows
the set is (celebrities.py keeps each timeline server's copy by it).

List timelines read the same sets for every member (fanout on read), so an
author who is no celebrity has one too while lists are read: the reader
creates it (a `0:1` marker, score 0) before it asks the tweets service for
the author's recent tweets, and fanout adds a new tweet to a set that exists
(`add_recent_if_kept`). A tweet stored before the set existed is in what the
reader asks for; one whose fanout ran after is added by fanout; so no tweet
falls between the two. Such a set lives RECENT_TTL_SECONDS from its rebuild
and is rebuilt by the next read after that.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.shared.stores.redis_client import (
    RedisClient,
    execute_where_sent,
    node_groups,
    replicated_pipeline,
    slot_groups,
)
from services.timeline.domain import Entry, score_of
from services.users.client.relations import relations_key


def home_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:home"


def mentions_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:mentions"


def active_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:active"


def rebuild_lock_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:rebuilding"


def following_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:following"


def following_version_key(user_id: int) -> str:
    return f"tl:{{{user_id}}}:following:version"


def followers_key(author_id: int) -> str:
    return f"tl:{{{author_id}}}:followers"


def followers_version_key(author_id: int) -> str:
    return f"tl:{{{author_id}}}:followers:version"


def recent_key(author_id: int) -> str:
    return f"tl:{{{author_id}}}:recent"


COMPLETE = "0:0"  # the marker member of a rebuilt recent set
PENDING = "0:1"  # a recent set being rebuilt: fanout keeps it from now on
MATERIALISED = b"1"  # the values of a home's active marker
FILLING = b"filling"
# A home rebuild's bound (its lock's is 30 s): fanout writes to it meanwhile.
FILLING_TTL_SECONDS = 60
FOLLOWING_TTL_SECONDS = 3600
# A cached follower list serves an author's later tweets for this long.
FOLLOWERS_TTL_SECONDS = 600
# A cached list's version (following, followers) outlives any fill in flight by far.
VERSION_TTL_SECONDS = 24 * 3600
RECENT_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class PageStart:
    """What one round trip tells about a home timeline page."""

    active: bool  # materialised (and now touched); otherwise (none, filling) rebuild it
    entries: list[Entry]
    following_known: bool
    followees: list[int]  # whom the reader follows, when known
    relations: bytes | None  # the reader's cached blocks and mutes (users/client/relations.py)


@dataclass(frozen=True)
class RecentPage:
    entries: list[Entry]
    complete: bool  # rebuilt, so nothing between its entries is missing
    full: bool  # at capacity: older tweets may exist beyond it


# Scores are milliseconds, so a range read below `before` also returns the
# entries of before's own millisecond with higher ids, which are then dropped:
# this many extra are read, more only when a burst fills them.
SAME_MILLISECOND = 8


def _fetch_size(before: int | None, count: int, margin: int) -> int:
    return count if before is None else count + margin


def _max_score(before: int | None) -> float | str:
    return score_of(before) if before is not None else "+inf"


def _entries(members: Iterable[bytes], before: int | None, count: int) -> list[Entry]:
    entries = sorted(map(Entry.parse, members), reverse=True)
    if before is not None:
        entries = [e for e in entries if e.tweet_id < before]
    return entries[:count]


# Adds one entry to the home timelines of the active users among a batch, in
# one round trip and inside Redis. Trimming only when a set outgrows its
# capacity keeps it one command per follower in the common case.
_FANOUT_BODY = """
local member, score, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local keys = %s
local written = 0
for i = %d, #keys, 2 do
  if redis.call('EXISTS', keys[i]) == 1 then
    redis.call('ZADD', keys[i + 1], score, member)
    if redis.call('ZCARD', keys[i + 1]) > cap then
      redis.call('ZREMRANGEBYRANK', keys[i + 1], 0, -cap - 1)
    end
    written = written + 1
  end
end
return written
"""
# One call per node: the followers whose slots one primary holds, as pairs
# (active marker, home key) in ARGV after the entry; KEYS[1], the first marker,
# routes the call. On a cluster such a script may touch many slots only with
# this flag, and Redis checks every key it touches against the node's slots:
# a key whose slot has moved, or is moving and is not here, fails the call
# ("non local key"). The call is never redirected (MOVED or ASK): under ASKING
# on an importing node a key not migrated yet would read as absent (its
# follower skipped) or be created beside the real one. A failed call's group
# is sent again per slot (docs/REDIS_KEYS.md).
_FANOUT_PER_NODE = "#!lua flags=allow-cross-slot-keys" + _FANOUT_BODY % ("ARGV", 4)
# The fallback per slot: KEYS are the pairs, so redis-py follows MOVED and ASK.
_FANOUT_PER_SLOT = _FANOUT_BODY % ("KEYS", 1)

# A tweet of an author who is no celebrity, added to their recent set only
# while one is kept (list timelines read it): KEYS[1] the set.
_ADD_IF_KEPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[2]), ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[1], 1, -tonumber(ARGV[3]) - 2)  -- as add_recent
  return 1
end
return 0
"""

# The page start, one command (cheaper for the client than a pipeline of
# four): the home's marker, its TTL refreshed only for a materialised home (a
# `filling` one keeps its own bound); the newest ARGV[3] entries at or below
# score ARGV[2]; whom the user follows; their cached relations. KEYS: marker,
# home, following, relations, all in the user's slot.
_HOME_START = """
local value = redis.call('GET', KEYS[1])
if value == '1' then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return {value,
        redis.call('ZREVRANGEBYSCORE', KEYS[2], ARGV[2], '-inf', 'LIMIT', 0, ARGV[3]),
        redis.call('SMEMBERS', KEYS[3]),
        redis.call('GET', KEYS[4])}
"""

# A rebuild's start: marks the home filling, unless another rebuild has just
# materialised it (returns 1 then).
_START_FILLING = """
if redis.call('GET', KEYS[1]) == '1' then
  return 1
end
redis.call('SET', KEYS[1], 'filling', 'EX', ARGV[1])
return 0
"""

# A celebrity flag's change (ARGV[1]: 1 to add ARGV[2], 0 to remove it) and,
# when the set did change, a new version token (ARGV[3]): one atomic step, so
# the token moves whenever the set does. KEYS: the set, its version.
_MARK_CELEBRITY = """
local changed
if ARGV[1] == '1' then
  changed = redis.call('SADD', KEYS[1], ARGV[2])
else
  changed = redis.call('SREM', KEYS[1], ARGV[2])
end
if changed == 1 then
  redis.call('SET', KEYS[2], ARGV[3])
end
return changed
"""

# The set and its version as of one moment (KEYS as above; '' for no version).
_READ_CELEBRITIES = """
return {redis.call('GET', KEYS[2]) or '', redis.call('SMEMBERS', KEYS[1])}
"""

# Stores a follower list only if no follow event replaced the version since
# the fill read it ('' for none).
_CACHE_FOLLOWERS = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""

# Replaces whom a user follows (ARGV: version, TTL, "-", ids) under the same
# condition; SADD a thousand at a time, within Lua's unpack limit.
_SET_FOLLOWING = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 1000 do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

CELEBRITIES = "tl:celebrities"
CELEBRITIES_VERSION = "{tl:celebrities}:version"  # in the set's slot (its hash tag)
FANOUT_LAG_MS = "tl:fanout_lag_ms"  # recent lag samples, for benchmarks and dashboards


@dataclass(frozen=True)
class Followers:
    """An author's follower count and, unless they are a celebrity, every
    follower id; packed as little-endian int64s, the count first."""

    count: int
    ids: list[int]

    def pack(self) -> bytes:
        return struct.pack(f"<{len(self.ids) + 1}q", self.count, *self.ids)

    @classmethod
    def unpack(cls, packed: bytes) -> Followers:
        count, *ids = struct.unpack(f"<{len(packed) // 8}q", packed)
        return cls(count, ids)


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class TimelineStore:
    def __init__(self, redis: RedisClient, *, capacity: int, inactive_after_seconds: int,
                 recent_capacity: int | None = None) -> None:
        self._redis = redis
        self.capacity = capacity
        self.recent_capacity = recent_capacity or capacity
        self._inactive_after = inactive_after_seconds

    async def add_to_active_homes(self, user_ids: Sequence[int], entry: Entry, *,
                                  recent_of: int | None = None) -> int:
        """Adds the entry to the home timelines of the active users among
        `user_ids`; returns how many were written. Idempotent (ZADD). With
        `recent_of`, also to that author's recent set if one is kept
        (add_recent_if_kept), in the same round trip."""
        pairs = [(active_key(u), home_key(u)) for u in user_ids]
        groups = await node_groups(self._redis, [active for active, _ in pairs])
        # EVAL, not EVALSHA: a pipeline with registered scripts first asks
        # Redis whether they are loaded, a round trip of its own.
        args = (entry.member, entry.score, self.capacity)
        async with replicated_pipeline(self._redis) as pipe:
            for group in groups:
                keys = [k for i in group for k in pairs[i]]
                pipe.eval(_FANOUT_PER_NODE, 1, keys[0], *args, *keys)
            if recent_of is not None:
                pipe.eval(_ADD_IF_KEPT, 1, recent_key(recent_of), entry.member, entry.score,
                          self.recent_capacity)
            results = await execute_where_sent(pipe)
        if recent_of is not None:
            *results, kept = results
            if isinstance(kept, Exception):  # moved or refused: again, following redirects
                await self.add_recent_if_kept(recent_of, entry)
        written, again = 0, []
        for group, result in zip(groups, results, strict=True):
            if isinstance(result, Exception):  # moved, refused, or unreachable
                again += [pairs[i] for i in group]
            else:
                written += int(result)
        return written + await self._add_per_slot(again, args)

    async def _add_per_slot(self, pairs: Sequence[tuple[str, str]],
                            args: tuple[str, int, int]) -> int:
        """The fallback for the followers of a failed per-node call: all keys
        of a call declared and in one slot, so redis-py may follow MOVED and ASK
        (Redis answers TRYAGAIN while a slot's keys are split between nodes)."""
        groups = slot_groups(self._redis, [active for active, _ in pairs])
        if not groups:
            return 0
        async with replicated_pipeline(self._redis) as pipe:
            for group in groups:
                keys = [k for i in group for k in pairs[i]]
                pipe.eval(_FANOUT_PER_SLOT, len(keys), *keys, *args)
            written = await pipe.execute()
        return sum(int(w) for w in written)

    async def add(self, key_of: Iterable[str], entry: Entry) -> None:
        """Adds one entry to many timelines in one pipelined round trip.

        ZADD of the same member is idempotent, so a redelivered fanout never
        duplicates an entry."""
        async with replicated_pipeline(self._redis) as pipe:
            for key in key_of:
                pipe.zadd(key, {entry.member: entry.score})
                pipe.zremrangebyrank(key, 0, -self.capacity - 1)
            await pipe.execute()

    async def remove(self, keys: Iterable[str], entry: Entry) -> None:
        async with replicated_pipeline(self._redis) as pipe:
            for key in keys:
                pipe.zrem(key, entry.member)
            await pipe.execute()

    async def remove_author(self, user_id: int, author_id: int) -> None:
        key = home_key(user_id)
        members: list[bytes] = await self._redis.zrange(key, 0, -1)  # type: ignore[assignment]
        doomed = [m for m in members if Entry.parse(m).author_id == author_id]
        if doomed:
            async with replicated_pipeline(self._redis) as pipe:
                pipe.zrem(key, *doomed)
                await pipe.execute()

    async def add_many(self, key: str, entries: Iterable[Entry]) -> None:
        mapping = {e.member: e.score for e in entries}
        if mapping:
            async with replicated_pipeline(self._redis) as pipe:
                pipe.zadd(key, mapping)
                pipe.zremrangebyrank(key, 0, -self.capacity - 1)
                await pipe.execute()

    async def page(self, key: str, *, before_id: int | None, count: int,
                   floor: str = "-inf") -> list[Entry]:
        """Entries newest first, strictly older than `before_id`."""
        margin = SAME_MILLISECOND
        while True:
            fetch = _fetch_size(before_id, count, margin)
            members: list[bytes] = await self._redis.zrevrangebyscore(  # type: ignore[assignment]
                key, _max_score(before_id), floor, start=0, num=fetch)
            entries = _entries(members, before_id, count)
            if len(entries) == count or len(members) < fetch:
                return entries
            margin *= 4  # a burst within before_id's millisecond: look further

    async def _complete(self, key: str, members: list[bytes], before: int | None, count: int,
                        floor: str = "-inf") -> list[Entry]:
        """Entries from a pipelined range read, read again in the rare case that
        tweets of before's millisecond crowded the range."""
        entries = _entries(members, before, count)
        if len(entries) < count and len(members) == _fetch_size(before, count, SAME_MILLISECOND):
            return await self.page(key, before_id=before, count=count, floor=floor)
        return entries

    async def home_start(self, user_id: int, before: int | None, count: int) -> PageStart:
        """Touches the activity marker, reads the cached page, whom the user
        follows and their relations: one round trip to the user's node. Which
        followees are celebrities is the caller's to ask (celebrities.py)."""
        active, members, following, relations = await self._redis.eval(
            _HOME_START, 4, active_key(user_id), home_key(user_id), following_key(user_id),
            relations_key(user_id), self._inactive_after, _max_score(before),
            _fetch_size(before, count, SAME_MILLISECOND))
        entries = await self._complete(home_key(user_id), members, before, count)
        followees = [int(m) for m in following if m != b"-"]
        return PageStart(active == MATERIALISED, entries, bool(following), followees, relations)

    async def recent_pages(self, authors: Sequence[int], before: int | None,
                           count: int) -> dict[int, RecentPage]:
        """Each celebrity's cached entries older than `before`: one round trip."""
        if not authors:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for author in authors:
                pipe.zrevrangebyscore(recent_key(author), _max_score(before), "(0", start=0,
                                      num=_fetch_size(before, count, SAME_MILLISECOND))
                pipe.zscore(recent_key(author), COMPLETE)
                pipe.zcard(recent_key(author))
            results = await pipe.execute()
        pages = {}
        for i, author in enumerate(authors):
            members, marker, size = results[3 * i:3 * i + 3]
            entries = await self._complete(recent_key(author), members, before, count, "(0")
            pages[author] = RecentPage(entries, marker is not None, size > self.recent_capacity)
        return pages

    async def replace_recent(self, author_id: int, entries: Iterable[Entry]) -> None:
        """Stores a celebrity's recent entries read from the tweets service, merged
        with whatever fanout added meanwhile, and marks the set complete."""
        mapping = {e.member: e.score for e in entries} | {COMPLETE: 0}
        key = recent_key(author_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, mapping)
            pipe.zrem(key, PENDING)
            pipe.zremrangebyrank(key, 1, -self.recent_capacity - 2)  # rank 0: the marker
            pipe.expire(key, RECENT_TTL_SECONDS)
            await pipe.execute()

    async def keep_recent(self, author_id: int) -> None:
        """Makes fanout keep an author's recent set from now on (before the
        set is rebuilt from the tweets service: see the module's docstring)."""
        key = recent_key(author_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {PENDING: 0}, nx=True)
            pipe.expire(key, RECENT_TTL_SECONDS, nx=True)
            await pipe.execute()

    async def add_recent_if_kept(self, author_id: int, entry: Entry) -> bool:
        """Adds a tweet to an author's recent set if one is kept."""
        async with replicated_pipeline(self._redis) as pipe:
            pipe.eval(_ADD_IF_KEPT, 1, recent_key(author_id), entry.member, entry.score,
                      self.recent_capacity)
            (added,) = await pipe.execute()
        return bool(added)

    async def add_recent(self, author_id: int, entry: Entry) -> None:
        key = recent_key(author_id)
        async with replicated_pipeline(self._redis) as pipe:
            pipe.zadd(key, {entry.member: entry.score})
            pipe.zremrangebyrank(key, 1, -self.recent_capacity - 2)
            pipe.expire(key, RECENT_TTL_SECONDS)
            await pipe.execute()

    async def following(self, user_id: int) -> list[int] | None:
        """Whom the user follows, if cached."""
        members = await self._redis.smembers(following_key(user_id))
        if not members:
            return None
        return [int(m) for m in members if m != b"-"]

    async def following_version(self, user_id: int) -> str:
        """What `set_following` must present: read before asking the users service."""
        return _text(await self._redis.get(following_version_key(user_id))) or ""

    async def set_following(self, user_id: int, ids: Sequence[int], *, version: str) -> bool:
        """Caches whom the user follows, unless a follow event of theirs changed
        the version since `following_version` returned it."""
        return bool(await self._redis.eval(
            _SET_FOLLOWING, 2, following_key(user_id), following_version_key(user_id),
            version, FOLLOWING_TTL_SECONDS, "-", *[str(i) for i in ids]))

    async def forget_following(self, user_id: int) -> None:
        """A follow or unfollow by the user."""
        await self._forget(following_key(user_id), following_version_key(user_id))

    async def _forget(self, key: str, version_key: str) -> None:
        """Drops a cached list and replaces its version first, so that a fill
        that read the users service before the change cannot store it after."""
        async with replicated_pipeline(self._redis) as pipe:
            pipe.set(version_key, secrets.token_hex(8), ex=VERSION_TTL_SECONDS)
            pipe.delete(key)
            await pipe.execute()

    async def cached_followers(self, author_id: int) -> tuple[Followers | None, str]:
        """The author's cached followers (None if not cached) and the version
        a fill must present (`cache_followers`)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(followers_key(author_id))
            pipe.get(followers_version_key(author_id))
            packed, version = await pipe.execute()
        return (Followers.unpack(packed) if packed else None), _text(version) or ""

    async def cache_followers(self, author_id: int, version: str, followers: Followers) -> bool:
        """Stores the followers read from the users service, unless a follow
        event changed the version since `cached_followers` returned it."""
        return bool(await self._redis.eval(
            _CACHE_FOLLOWERS, 2, followers_key(author_id), followers_version_key(author_id),
            version, followers.pack(), FOLLOWERS_TTL_SECONDS))

    async def forget_followers(self, author_id: int) -> None:
        """A follow or unfollow of the author."""
        await self._forget(followers_key(author_id), followers_version_key(author_id))

    async def is_active(self, user_id: int) -> bool:
        """Whether fanout writes to the user's home: materialised or filling."""
        return bool(await self._redis.exists(active_key(user_id)))

    async def is_materialised(self, user_id: int) -> bool:
        """Whether reads may serve the user's home as it is (not filling)."""
        return bool(await self._redis.get(active_key(user_id)) == MATERIALISED)

    async def start_filling(self, user_id: int) -> bool:
        """Makes fanout write to a home about to be rebuilt, from now on (see
        the module's docstring); False when it is materialised already (a
        rebuild has just finished), so there is nothing to rebuild."""
        async with replicated_pipeline(self._redis) as pipe:
            pipe.eval(_START_FILLING, 1, active_key(user_id), FILLING_TTL_SECONDS)
            (materialised,) = await pipe.execute()
        return not materialised

    async def try_lock_rebuild(self, user_id: int, seconds: int = 30) -> bool:
        return bool(await self._redis.set(rebuild_lock_key(user_id), "1", nx=True, ex=seconds))

    async def unlock_rebuild(self, user_id: int) -> None:
        await self._redis.delete(rebuild_lock_key(user_id))

    async def replace_home(self, user_id: int, entries: Iterable[Entry]) -> None:
        """Merges a rebuilt timeline into what fanout wrote while it was
        filling and marks it materialised, atomically."""
        mapping = {e.member: e.score for e in entries}
        async with self._redis.pipeline(transaction=True) as pipe:
            if mapping:
                pipe.zadd(home_key(user_id), mapping)
                pipe.zremrangebyrank(home_key(user_id), 0, -self.capacity - 1)
            pipe.set(active_key(user_id), "1", ex=self._inactive_after)
            await pipe.execute()

    async def mark_celebrity(self, author_id: int, celebrity: bool) -> None:
        """Adds an author to the celebrity set or removes them; a change (not
        a repeated flag) also replaces the set's version token."""
        async with replicated_pipeline(self._redis) as pipe:
            pipe.eval(_MARK_CELEBRITY, 2, CELEBRITIES, CELEBRITIES_VERSION,
                      "1" if celebrity else "0", str(author_id), secrets.token_hex(8))
            await pipe.execute()

    async def celebrities_among(self, user_ids: Sequence[int]) -> list[int]:
        """The celebrities among the users, in their order, as Redis has them now."""
        if not user_ids:
            return []
        flags = await self._redis.smismember(CELEBRITIES, [str(u) for u in user_ids])
        return [u for u, flag in zip(user_ids, flags, strict=True) if flag]

    async def celebrities_version(self) -> str | None:
        """The celebrity set's version token (None: never changed since the
        key was lost or introduced)."""
        return _text(await self._redis.get(CELEBRITIES_VERSION)) or None

    async def celebrities(self) -> tuple[str | None, frozenset[int]]:
        """The whole celebrity set with its version token, read together."""
        version, members = await self._redis.eval(
            _READ_CELEBRITIES, 2, CELEBRITIES, CELEBRITIES_VERSION)
        return _text(version) or None, frozenset(int(m) for m in members)

    async def record_lag(self, *milliseconds: float) -> None:
        """Samples oldest first; the list keeps the newest first."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.lpush(FANOUT_LAG_MS, *(f"{ms:.1f}" for ms in milliseconds))
            pipe.ltrim(FANOUT_LAG_MS, 0, 9999)
            await pipe.execute()
