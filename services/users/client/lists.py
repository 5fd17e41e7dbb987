"""A list's audience (owner, privacy, member ids), cached in Redis for the
list timeline's read path.

`lists:{<list id>}` (in the list's slot) holds `<version>:` followed by the
ListAudience protobuf (twitter/users/v1/lists.proto). The users service is
the only writer, exactly as for the relations cache (relations.py):
- after every change of a list's members or privacy commits (a block's
  removals included), it writes the list's audience read after the commit,
  with the version that change set under the list's row lock (versions only
  grow); a deleted list gets a tombstone whose version no list reaches;
- a miss is filled by GetListAudience;
- both go through a Lua script that replaces a cached value only by a newer
  version, so a fill that read just before a change committed never
  overwrites the change's copy.
The timeline GETs the key beside the reader's relations and decides
visibility itself (`visible`): the same rule as services/users/lists/rules.py,
with the owner's block of the viewer read from the viewer's relations.
Staleness: none while Redis takes the writes; if it cannot take one after the
commit, the old copy lives at most AUDIENCE_TTL_SECONDS.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from twitter.users.v1 import lists_pb2

from services.shared.observability.logging import get_logger
from services.shared.stores.redis_client import REDIS_ERRORS, RedisClient
from services.users.client.relations import STORE_IF_NEWER, Relations

log = get_logger(__name__)

LIST_NOT_FOUND = "list not found"  # the same words for a hidden list and a missing one
AUDIENCE_TTL_SECONDS = 600
TOMBSTONE_VERSION = 1 << 62  # above any list's version: a deleted list stays deleted


def audience_key(list_id: int) -> str:
    return f"lists:{{{list_id}}}"


def encode(pb: lists_pb2.ListAudience) -> bytes:
    return f"{pb.version}:".encode() + pb.SerializeToString()


def decode(raw: bytes) -> lists_pb2.ListAudience:
    return lists_pb2.ListAudience.FromString(raw.partition(b":")[2])


def tombstone(list_id: int) -> lists_pb2.ListAudience:
    return lists_pb2.ListAudience(list_id=list_id, version=TOMBSTONE_VERSION, deleted=True)


def visible(audience: lists_pb2.ListAudience, viewer: int, relations: Relations) -> bool:
    """Whether the viewer may see the list (services/users/lists/rules.py)."""
    if audience.deleted:
        return False
    if viewer == audience.owner_id:
        return True
    return not audience.private and audience.owner_id not in relations.blocked_by


class ListAudiences:
    """Read side: the cached audience, or the users service's on a miss."""

    def __init__(self, redis: RedisClient,
                 source: Callable[[int], Awaitable[lists_pb2.ListAudience]]) -> None:
        self._redis = redis
        self._source = source

    async def of(self, list_id: int) -> lists_pb2.ListAudience:
        """NotFound (from the source) for a list that never existed."""
        try:
            raw = await self._redis.get(audience_key(list_id))
        except REDIS_ERRORS:
            log.warning("list audience cache unreachable; asking the users service")
            raw = None
        if isinstance(raw, bytes):
            return decode(raw)
        return await self._source(list_id)


class ListAudienceWriter:
    """Write side (the users service only): newer versions replace older ones."""

    def __init__(self, redis: RedisClient) -> None:
        self._script = redis.register_script(STORE_IF_NEWER)

    async def store(self, audiences: Iterable[lists_pb2.ListAudience]) -> None:
        try:
            for pb in audiences:
                await self._script(keys=[audience_key(pb.list_id)],
                                   args=[pb.version, encode(pb), AUDIENCE_TTL_SECONDS])
        except REDIS_ERRORS:
            # The committed change stands; the old copy expires within the TTL.
            log.warning("could not refresh the list audience cache", exc_info=True)
