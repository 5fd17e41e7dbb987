"""A viewer's blocks and mutes, cached in Redis for every service's read path.

`rel:{<viewer id>}` (in the viewer's slot) holds `<version>:` followed by the
viewer's ViewerRelations protobuf (twitter/users/v1/users.proto): whom they block, who blocks them,
whom they mute. The users service is the only writer:
- after every block, unblock, mute or unmute it commits, it writes the new
  relations of both parties, read in the transaction that changed them with
  the version that transaction set (under the user's row lock, so versions
  only grow);
- a miss is filled by GetViewerRelations, from one consistent read;
- either write goes through a Lua script that replaces a cached value only by
  a newer version, so a fill that read the store just before a block
  committed can never overwrite the block's copy.
Readers (tweets, timeline, search, messages) GET the key (the timeline inside
its first pipeline, the tweets service's pages and GetTweet as a rider of
their tweets' lookup, so neither costs an extra round trip) and ask
GetViewerRelations on a miss, or when Redis is unreachable. Staleness: none
while Redis takes the writes; if Redis cannot take one after the commit, the
old copy lives at most RELATIONS_TTL_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import users_pb2

from services.shared.observability.logging import get_logger
from services.shared.stores.redis_client import REDIS_ERRORS, AnyPipeline, RedisClient

log = get_logger(__name__)

RELATIONS_TTL_SECONDS = 600

# KEYS[1] the key; ARGV[1] the new version, ARGV[2] the value, ARGV[3] TTL.
# The list audience cache (lists.py) stores the same way.
STORE_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+):'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


def relations_key(user_id: int) -> str:
    return f"rel:{{{user_id}}}"


@dataclass(frozen=True)
class Relations:
    """Whom a viewer blocks, who blocks them, whom they mute."""

    blocked: frozenset[int] = frozenset()
    blocked_by: frozenset[int] = frozenset()
    muted: frozenset[int] = frozenset()
    # Derived once: read on every tweet of a page.
    hidden: frozenset[int] = field(init=False)
    quiet: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        # Blocks hide both ways everywhere (timelines, search, replies); mutes
        # only from the viewer's home timeline, mentions and notifications.
        object.__setattr__(self, "hidden", self.blocked | self.blocked_by)
        object.__setattr__(self, "quiet", self.hidden | self.muted)

    @classmethod
    def from_pb(cls, pb: users_pb2.ViewerRelations) -> Relations:
        return cls(frozenset(pb.blocked_ids), frozenset(pb.blocked_by_ids),
                   frozenset(pb.muted_ids))

    def is_blocked_either_way(self, other: int) -> bool:
        return other in self.hidden


NONE = Relations()


def encode(pb: users_pb2.ViewerRelations) -> bytes:
    return f"{pb.version}:".encode() + pb.SerializeToString()


def decode(raw: bytes) -> Relations:
    _, _, body = raw.partition(b":")
    pb = users_pb2.ViewerRelations.FromString(body)
    if not (pb.blocked_ids or pb.blocked_by_ids or pb.muted_ids):
        return NONE  # most users block and mute no one: nothing to build
    return Relations.from_pb(pb)


def shows(tweet: tweets_pb2.Tweet, hidden: frozenset[int]) -> bool:
    """Whether a tweet may be shown to a viewer who hides these users: neither
    its author nor, for a retweet, the original's author."""
    if tweet.user_id in hidden:
        return False
    return not (tweet.HasField("retweet_of") and tweet.retweet_of.user_id in hidden)


def masked(tweet: tweets_pb2.Tweet, hidden: frozenset[int]) -> tweets_pb2.Tweet:
    """The tweet with the quoted tweet it embeds (its own, or its retweeted
    original's) taken out when the viewer hides that tweet's author: the quote
    still shows, its quoted tweet as unavailable (quoted_tweet_unavailable),
    exactly as if the quoted tweet were deleted. Changes the tweet in place."""
    shown = [tweet, tweet.retweet_of] if tweet.HasField("retweet_of") else [tweet]
    for t in shown:
        if t.HasField("quoted_tweet") and t.quoted_tweet.user_id in hidden:
            t.ClearField("quoted_tweet")
            t.quoted_tweet_unavailable = True
    return tweet


def visible(tweets: Iterable[tweets_pb2.Tweet], hidden: frozenset[int]
            ) -> list[tweets_pb2.Tweet]:
    """The tweets `shows` lets through, their quoted tweets `masked`."""
    if not hidden:
        return list(tweets)
    return [masked(t, hidden) for t in tweets if shows(t, hidden)]


class RelationsSource(Protocol):
    async def viewer_relations(self, user_id: int) -> users_pb2.ViewerRelations: ...


class RelationsRider:
    """The viewer's cached relations asked in another lookup's round trip (a
    rider of the tweet cache's lookup: services/tweets/client/tweet_cache.py)."""

    def __init__(self, viewer: int) -> None:
        self.viewer = viewer
        self.heard = False  # the lookup's round trip did not happen (Redis down, no ids)
        self.raw: bytes | None = None

    def queue(self, pipe: AnyPipeline) -> None:
        pipe.get(relations_key(self.viewer))

    def read(self, result: bytes | None) -> None:
        self.heard, self.raw = True, result


class RelationsCache:
    """Read side: the cached relations, or the users service's on a miss."""

    def __init__(self, redis: RedisClient, source: RelationsSource) -> None:
        self._redis = redis
        self._source = source

    async def of(self, viewer: int) -> Relations:
        try:
            raw = await self._redis.get(relations_key(viewer))
        except REDIS_ERRORS:
            log.warning("relations cache unreachable; asking the users service")
            raw = None
        return await self.resolve(viewer, raw)

    async def heard(self, rider: RelationsRider) -> Relations:
        """The relations a rider read; read now when its round trip did not happen."""
        if not rider.heard:
            return await self.of(rider.viewer)
        return await self.resolve(rider.viewer, rider.raw)

    async def resolve(self, viewer: int, raw: bytes | str | None) -> Relations:
        """The relations from a value read elsewhere (a pipeline), or a fill."""
        if isinstance(raw, bytes):
            return decode(raw)
        return Relations.from_pb(await self._source.viewer_relations(viewer))


class RelationsWriter:
    """Write side (the users service only): newer versions replace older ones."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis
        self._script = redis.register_script(STORE_IF_NEWER)

    async def store(self, relations: Iterable[users_pb2.ViewerRelations]) -> None:
        try:
            for pb in relations:
                await self._script(keys=[relations_key(pb.user_id)],
                                   args=[pb.version, encode(pb), RELATIONS_TTL_SECONDS])
        except REDIS_ERRORS:
            # The committed change stands; the old copy expires within the TTL.
            log.warning("could not refresh the relations cache", exc_info=True)
