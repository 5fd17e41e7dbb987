"""Lists (service layer): create, rename, delete; members and followers; the
member ids a list timeline reads. The caller's id comes in explicitly; only
the owner changes a list (services/users/lists/rules.py says who sees what).

Exactness under concurrency: every change to a list's members or followers
runs in one transaction that first locks the list's row, so the member and
follower counts move with the rows they count and the member cap is checked
against a count no one else can change meanwhile. Adding a member also takes
the owner's and the member's user rows first, as a follow and a block do, so
an add racing a block either lands before it (and the block removes it) or
sees the block. Duplicates are idempotent (ON CONFLICT DO NOTHING), so a
retried add or follow changes nothing twice.

An add that inserted a member of a public list writes ListMemberAdded to the
outbox in the same transaction (services/shared/messaging/pg_outbox.py): the member is
notified exactly when the membership commits, and a repeated add, which
inserts nothing, publishes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from psycopg_pool import AsyncConnectionPool
from twitter.users.v1 import lists_pb2

from services.shared.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.shared.messaging import pg_outbox
from services.shared.paging.cursor import LastId, ListCursor, last_id
from services.shared.snowflake.ids import IdGenerator
from services.users import events, repository
from services.users import relations_repository as relations
from services.users.client.lists import LIST_NOT_FOUND, ListAudienceWriter, tombstone
from services.users.lists import repository as store
from services.users.lists.rules import (
    MAX_LISTS_PER_OWNER,
    MAX_MEMBERS,
    ListRecord,
    MemberRecord,
    clean_fields,
    require_owner,
    require_visible,
)
from services.users.repository import Conn

USER_NOT_FOUND = "user not found"


class MemberKey(NamedTuple):
    """Members are listed newest addition first, ties broken by user id."""

    added_at: datetime
    user_id: int


class FollowedKey(NamedTuple):
    followed_at: datetime
    list_id: int


MEMBERS = ListCursor("users.list_members", MemberKey)
OWNED = ListCursor("users.owned_lists", LastId)
FOLLOWED = ListCursor("users.followed_lists", FollowedKey)


class Lists:
    def __init__(self, pool: AsyncConnectionPool, ids: IdGenerator,
                 audiences: ListAudienceWriter, *, max_members: int = MAX_MEMBERS) -> None:
        self._pool = pool
        self._ids = ids
        self._audiences = audiences
        self._max_members = max_members

    async def create(self, caller: int, name: str, description: str,
                     private: bool) -> ListRecord:
        fields = clean_fields(name=name, description=description)
        list_id = self._ids.next_id()
        async with self._pool.connection() as conn, conn.transaction():
            # The owner's row lock serialises their creates, so the cap holds.
            await relations.lock_user(conn, caller)
            if await store.count_owned(conn, caller) >= MAX_LISTS_PER_OWNER:
                raise FailedPrecondition(f"you own {MAX_LISTS_PER_OWNER} lists already:"
                                         " delete one first")
            await store.insert(conn, list_id, caller, fields, private)
            created = await store.get(conn, list_id, caller)
        assert created is not None  # inserted just above
        return created

    async def get(self, caller: int, list_id: int) -> ListRecord:
        async with self._pool.connection() as conn:
            return require_visible(await store.get(conn, list_id, caller), caller)

    async def update(self, caller: int, list_id: int, *, name: str | None,
                     description: str | None, private: bool | None) -> ListRecord:
        fields = clean_fields(name=name, description=description)
        async with self._pool.connection() as conn, conn.transaction():
            current = require_owner(await store.get(conn, list_id, caller, lock=True), caller)
            await store.update(conn, list_id, fields, private)
            if private and not current.private:
                await store.drop_followers(conn, list_id)  # nobody else may see it now
            updated = await store.get(conn, list_id, caller)
        assert updated is not None  # locked above
        if private is not None and private != current.private:
            await self.refresh_audiences([list_id])
        return updated

    async def delete(self, caller: int, list_id: int) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            require_owner(await store.get(conn, list_id, caller, lock=True), caller)
            await store.delete(conn, list_id)
        await self._audiences.store([tombstone(list_id)])

    async def add_member(self, caller: int, list_id: int, user_id: int) -> ListRecord:
        async with self._pool.connection() as conn, conn.transaction():
            if user_id not in await repository.lock_pair(conn, caller, user_id):
                # Checked before the list too: a bad list id and a bad user id
                # are both 404, so the order only decides the message.
                await self._owned(conn, caller, list_id)
                raise NotFound(USER_NOT_FOUND)
            current = await self._owned(conn, caller, list_id, lock=True)
            if user_id != caller:
                await _not_blocked(conn, caller, user_id)
            if current.member_count >= self._max_members:
                if await store.is_member(conn, list_id, user_id):
                    return current  # a repeat: adding twice is a no-op
                raise FailedPrecondition(
                    f"a list has at most {self._max_members} members: remove one first")
            added = await store.add_member(conn, list_id, user_id)
            if added and _notifies(current, user_id):
                async with conn.cursor() as cur:
                    await pg_outbox.enqueue(cur, [events.list_member_added(current, user_id)])
            record = await self._owned(conn, caller, list_id)
        if added:
            await self.refresh_audiences([list_id])
        return record

    async def remove_member(self, caller: int, list_id: int, user_id: int) -> ListRecord:
        async with self._pool.connection() as conn, conn.transaction():
            await self._owned(conn, caller, list_id, lock=True)
            removed = await store.remove_member(conn, list_id, user_id)
            record = await self._owned(conn, caller, list_id)
        if removed:
            await self.refresh_audiences([list_id])
        return record

    async def members(self, caller: int, list_id: int, page_size: int,
                      page_token: str) -> tuple[list[MemberRecord], str]:
        req = MEMBERS.request(list_id, page_size, page_token)
        async with self._pool.connection() as conn:
            require_visible(await store.get(conn, list_id, caller), caller)
            rows = await store.members(conn, list_id, after=req.after, limit=req.fetch_size)
            page, token = req.page(rows, lambda r: MemberKey(r.added_at, r.user.user_id))
            if page:
                # Whoever blocks the viewer is absent from every list they see
                # (a page may come out shorter; the token follows the rows read).
                hidden = await relations.blockers_among(
                    conn, caller, [r.user.user_id for r in page])
                page = [r for r in page if r.user.user_id not in hidden]
        return page, token

    async def follow(self, caller: int, list_id: int) -> ListRecord:
        async with self._pool.connection() as conn, conn.transaction():
            current = require_visible(await store.get(conn, list_id, caller, lock=True), caller)
            if current.owner_id == caller:
                raise InvalidArgument.field("list_id", "you cannot follow your own list")
            await store.add_follower(conn, list_id, caller)
            followed = await store.get(conn, list_id, caller)
        assert followed is not None  # locked above
        return followed

    async def unfollow(self, caller: int, list_id: int) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            # Going private and a block drop the follows already, so an
            # invisible list has nothing to leave: absent, as for GetList.
            require_visible(await store.get(conn, list_id, caller, lock=True), caller)
            await store.remove_follower(conn, list_id, caller)

    async def owned(self, caller: int, user_id: int, page_size: int,
                    page_token: str) -> tuple[list[ListRecord], str]:
        req = OWNED.request(user_id, page_size, page_token)
        async with self._pool.connection() as conn:
            owner = await repository.get_user(conn, user_id)
            if owner is None or (caller != user_id
                                 and await relations.blocks(conn, user_id, caller)):
                raise NotFound(USER_NOT_FOUND)
            rows = await store.owned(conn, user_id, caller, after=last_id(req),
                                     limit=req.fetch_size)
        return req.page(rows, lambda r: LastId(r.list_id))

    async def followed(self, caller: int, user_id: int, page_size: int,
                       page_token: str) -> tuple[list[ListRecord], str]:
        if caller != user_id:
            raise PermissionDenied("you may only list the lists you follow yourself")
        req = FOLLOWED.request(user_id, page_size, page_token)
        async with self._pool.connection() as conn:
            rows = await store.followed(conn, user_id, after=req.after, limit=req.fetch_size)
        page, token = req.page(rows, lambda r: FollowedKey(r[0], r[1].list_id))
        return [r for _, r in page if r.visible_to(caller)], token

    async def audience(self, list_id: int) -> lists_pb2.ListAudience:
        """Who is on a list and who may see it (a cache miss's reader asked):
        one consistent read, which also fills the cache."""
        found = await self._audiences_of([list_id])
        if not found:
            raise NotFound(LIST_NOT_FOUND)
        await self._audiences.store(found)
        return found[0]

    async def refresh_audiences(self, list_ids: list[int]) -> None:
        """After a change committed: the lists' audiences as they are now."""
        if list_ids:
            await self._audiences.store(await self._audiences_of(list_ids))

    async def _audiences_of(self, list_ids: list[int]) -> list[lists_pb2.ListAudience]:
        async with self._pool.connection() as conn:
            await conn.set_autocommit(True)  # one statement each, no BEGIN/COMMIT
            try:
                found = [await store.audience(conn, i) for i in list_ids]
            finally:
                await conn.set_autocommit(False)
        return [a for a in found if a is not None]

    async def _owned(self, conn: Conn, caller: int, list_id: int, *,
                     lock: bool = False) -> ListRecord:
        return require_owner(await store.get(conn, list_id, caller, lock=lock), caller)


def _notifies(current: ListRecord, user_id: int) -> bool:
    """Whether adding `user_id` tells them (ListMemberAdded): only for a public
    list, as on Twitter (a private list is its owner's alone, so adding
    someone to it is silent), and never the owner adding themselves. The
    list's row is locked, so its privacy cannot change before the commit."""
    return not current.private and user_id != current.owner_id


async def _not_blocked(conn: Conn, owner: int, user_id: int) -> None:
    """Under both users' row locks, which a block takes too. To a user who is
    blocked, the blocker does not exist (NOT_FOUND as for a missing user); the
    blocker, who knows, is told."""
    if await relations.blocks(conn, owner, user_id):
        raise PermissionDenied("you block this user: unblock them first")
    if await relations.blocks(conn, user_id, owner):
        raise NotFound(USER_NOT_FOUND)
