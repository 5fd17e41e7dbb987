"""Blocks and mutes (service layer). A user blocks or mutes only as themselves.

A block removes any follow between the two, in either direction, in the
transaction that records it (with the follow-deleted events and counters a
plain unfollow has, so timelines drop the entries), and each from the other's
lists as member and as follower (Twitter's behaviour: removed, and not added
again while the block lasts; services/users/lists/service.py), and takes both users' rows
in id order first, as a follow does: a follow racing a block either lands
before it (and is removed) or sees the block (PERMISSION_DENIED). Every change
bumps the parties' relations versions and, once committed, writes their new
relations to the Redis cache the other services read
(services/users/client/relations.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from psycopg_pool import AsyncConnectionPool
from twitter.users.v1 import users_pb2

from services.shared.errors import InvalidArgument, NotFound
from services.shared.messaging import pg_outbox
from services.shared.paging.cursor import ListCursor
from services.shared.stores.redis_client import RedisClient
from services.users import events, repository
from services.users import relations_repository as store
from services.users.client.relations import RelationsCache, RelationsWriter
from services.users.domain import USERNAME_RE, FollowRecord, UserRecord
from services.users.lists import repository as lists
from services.users.lists.service import Lists
from services.users.relations_repository import Kind
from services.users.repository import Conn, FollowChange

MAX_CHECK_IDS = 1000


class RelationKey(NamedTuple):
    """Block and mute lists are newest first, ties broken by the other user's id."""

    created_at: datetime
    user_id: int


CURSORS = {Kind.BLOCK: ListCursor("users.blocks", RelationKey),
           Kind.MUTE: ListCursor("users.mutes", RelationKey)}


class BlocksAndMutes:
    def __init__(self, pool: AsyncConnectionPool, redis: RedisClient, lists: Lists) -> None:
        self._pool = pool
        self._lists = lists
        self._cache = RelationsWriter(redis)
        self._cached = RelationsCache(redis, self)  # misses are filled from here

    async def _target(self, conn: Conn, caller: int, username: str) -> UserRecord:
        if USERNAME_RE.fullmatch(username) is None:
            raise InvalidArgument.field("username",
                                        "must be 1 to 15 letters, digits or underscores")
        target = await repository.get_user_by_username(conn, username)
        if target is None:
            raise NotFound("user not found")
        if target.user_id == caller:
            raise InvalidArgument.field("username", "you cannot block or mute yourself")
        return target

    async def change(self, caller: int, username: str, kind: Kind, *,
                     on: bool) -> UserRecord:
        """Blocks, unblocks, mutes or unmutes; idempotent."""
        async with self._pool.connection() as conn:
            async with conn.transaction():
                target = await self._target(conn, caller, username)
                parties = [caller, target.user_id] if kind is Kind.BLOCK else [caller]
                await repository.lock_pair(conn, caller, target.user_id)
                changed = await (store.add if on else store.remove)(
                    conn, kind, caller, target.user_id)
                dropped: list[int] = []  # lists whose members changed
                if changed and kind is Kind.BLOCK and on:
                    await _drop_follows(conn, caller, target.user_id)
                    dropped = await lists.drop_between(conn, caller, target.user_id)
                if changed:
                    await store.bump_versions(conn, parties)
                fresh = [await store.viewer_relations(conn, u) for u in parties]
            if changed:
                await self._cache.store(fresh)
            if dropped:
                await self._lists.refresh_audiences(dropped)
        return target

    async def listed(self, caller: int, kind: Kind, page_size: int,
                     page_token: str) -> tuple[list[FollowRecord], str]:
        req = CURSORS[kind].request(caller, page_size, page_token)
        async with self._pool.connection() as conn:
            rows = await store.listed(conn, kind, caller, after=req.after,
                                      limit=req.fetch_size)
        return req.page(rows, lambda r: RelationKey(r.followed_at, r.user.user_id))

    async def viewer_relations(self, user_id: int) -> users_pb2.ViewerRelations:
        """One consistent read, which also fills the cache (a miss's reader asked)."""
        async with self._pool.connection() as conn:
            relations = await store.viewer_relations(conn, user_id)
        await self._cache.store([relations])
        return relations

    async def check(self, viewer: int, user_ids: list[int]) -> users_pb2.CheckRelationsResponse:
        if len(user_ids) > MAX_CHECK_IDS:
            raise InvalidArgument.field("user_ids", f"at most {MAX_CHECK_IDS} ids")
        relations = await self._cached.of(viewer)
        asked = list(dict.fromkeys(user_ids))
        return users_pb2.CheckRelationsResponse(
            blocked_ids=[u for u in asked if u in relations.blocked],
            blocked_by_ids=[u for u in asked if u in relations.blocked_by],
            muted_ids=[u for u in asked if u in relations.muted])


async def _drop_follows(conn: Conn, a: int, b: int) -> None:
    """Both follows between a and b, each with its event, as an unfollow does."""
    for follower, followee in ((a, b), (b, a)):
        if await repository.unfollow(conn, follower, followee) is FollowChange.CHANGED:
            me = await repository.get_user(conn, follower)
            them = await repository.get_user(conn, followee)
            assert me is not None  # locked above
            assert them is not None
            async with conn.cursor() as cur:
                await pg_outbox.enqueue(cur, [events.follow_changed(me, them, created=False)])
