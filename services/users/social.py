"""Profiles and the follow graph (service layer). The caller's id comes in
explicitly; a user acts only as themselves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import NamedTuple, TypeVar

from psycopg import errors as pg_errors
from psycopg_pool import AsyncConnectionPool
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from services.shared.errors import InvalidArgument, NotFound, PermissionDenied
from services.shared.messaging import pg_outbox
from services.shared.paging.cursor import LastId, ListCursor, last_id
from services.users import events, repository
from services.users import relations_repository as relations
from services.users.domain import (
    USERNAME_RE,
    FollowRecord,
    UserRecord,
    validate_profile_update,
)
from services.users.repository import Conn, FollowChange

FOLLOWEE_NOT_FOUND = "user to follow not found"

T = TypeVar("T")

MAX_BATCH_IDS = 500
MAX_BATCH_NAMES = 100

# Row-lock ordering prevents deadlocks between follows; retry what remains
# (e.g. a serialization failure) rather than surface it.
_retry_conflicts = retry(
    retry=retry_if_exception_type((pg_errors.DeadlockDetected,
                                   pg_errors.SerializationFailure)),
    stop=stop_after_attempt(5), wait=wait_random_exponential(multiplier=0.01, max=0.2),
    reraise=True,
)


class FollowKey(NamedTuple):
    """Follow lists are newest first, ties broken by the other user's id."""

    followed_at: datetime
    user_id: int


FOLLOWERS = ListCursor("users.followers", FollowKey)
FOLLOWING = ListCursor("users.following", FollowKey)
FOLLOWER_IDS = ListCursor("users.follower_ids", LastId)
FOLLOWING_IDS = ListCursor("users.following_ids", LastId)
ALL_USERS = ListCursor("users.all", LastId)


def _require_self(caller: int, user_id: int, action: str) -> None:
    if caller != user_id:
        raise PermissionDenied(f"you may only {action} as yourself")


class Social:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _read(self, query: Callable[[Conn], Awaitable[T]]) -> T:
        """One read-only statement, outside a transaction: no BEGIN and COMMIT
        round trips around it (fanout asks for followers on every new tweet)."""
        async with self._pool.connection() as conn:
            await conn.set_autocommit(True)
            try:
                return await query(conn)
            finally:
                await conn.set_autocommit(False)

    async def get_user(self, user_id: int, viewer: int | None = None) -> UserRecord:
        """A profile; NOT_FOUND for a user who blocks the viewer, as for no user."""
        return await self._visible(lambda c: repository.get_user(c, user_id), viewer)

    async def get_user_by_username(self, username: str,
                                   viewer: int | None = None) -> UserRecord:
        # No such name can exist, and NUL would not even reach a query (issue 22).
        if USERNAME_RE.fullmatch(username) is None:
            raise InvalidArgument.field("username",
                                        "must be 1 to 15 letters, digits or underscores")
        return await self._visible(lambda c: repository.get_user_by_username(c, username),
                                   viewer)

    async def _visible(self, query: Callable[[Conn], Awaitable[UserRecord | None]],
                       viewer: int | None) -> UserRecord:
        async def read(conn: Conn) -> UserRecord | None:
            user = await query(conn)
            if user is not None and viewer is not None and viewer != user.user_id \
                    and await relations.blocks(conn, user.user_id, viewer):
                return None
            return user

        user = await self._read(read)
        if user is None:
            raise NotFound("user not found")
        return user

    async def set_verified(self, user_id: int, verified: bool) -> UserRecord:
        async with self._pool.connection() as conn, conn.transaction():
            user = await repository.set_verified(conn, user_id, verified)
            if user is None:
                raise NotFound("user not found")
        return user

    async def update_profile(self, caller: int, user_id: int,
                             changes: dict[str, str]) -> UserRecord:
        _require_self(caller, user_id, "update a profile")
        cleaned = validate_profile_update(changes)
        async with self._pool.connection() as conn, conn.transaction():
            user = await repository.update_profile(conn, user_id, cleaned)
            if user is None:
                raise NotFound("user not found")
            if cleaned:
                async with conn.cursor() as cur:
                    await pg_outbox.enqueue(cur, [events.user_updated(user)])
        return user

    async def follow(self, caller: int, user_id: int, target_id: int) -> UserRecord:
        _require_self(caller, user_id, "follow")
        if user_id == target_id:
            raise InvalidArgument.field("target_user_id", "you cannot follow yourself")
        return await self._change_follow(user_id, target_id, follow=True)

    async def unfollow(self, caller: int, user_id: int, target_id: int) -> UserRecord:
        _require_self(caller, user_id, "unfollow")
        return await self._change_follow(user_id, target_id, follow=False)

    @_retry_conflicts
    async def _change_follow(self, user_id: int, target_id: int, *, follow: bool) -> UserRecord:
        async with self._pool.connection() as conn, conn.transaction():
            change = await (repository.follow(conn, user_id, target_id, allowed=_not_blocked)
                            if follow else repository.unfollow(conn, user_id, target_id))
            if change is FollowChange.MISSING_TARGET:
                raise NotFound(FOLLOWEE_NOT_FOUND)
            me = await repository.get_user(conn, user_id)
            if me is None:
                raise NotFound("user not found")
            if change is FollowChange.CHANGED:
                target = await repository.get_user(conn, target_id)
                assert target is not None  # locked by the follow change
                async with conn.cursor() as cur:
                    await pg_outbox.enqueue(
                        cur, [events.follow_changed(me, target, created=follow)])
            return me

    async def list_follows(self, user_id: int, *, followers: bool, page_size: int,
                           page_token: str, viewer: int | None = None
                           ) -> tuple[list[FollowRecord], str]:
        req = (FOLLOWERS if followers else FOLLOWING).request(user_id, page_size, page_token)
        if viewer is not None or req.after is None:
            # An unknown user, or one who blocks the viewer, is NOT_FOUND.
            await self.get_user(user_id, viewer)
        rows = await self._read(lambda c: repository.list_follows(
            c, user_id, followers=followers, after=req.after, limit=req.fetch_size))
        page, token = req.page(rows, lambda r: FollowKey(r.followed_at, r.user.user_id))
        if viewer is not None and page:
            # Whoever blocks the viewer is absent from anyone's lists too (a
            # page may come out shorter; the token still follows the rows read).
            ids = [r.user.user_id for r in page]
            hidden = await self._read(lambda c: relations.blockers_among(c, viewer, ids))
            page = [r for r in page if r.user.user_id not in hidden]
        return page, token

    async def follow_ids(self, user_id: int, *, followers: bool, page_size: int,
                         page_token: str) -> tuple[list[int], str]:
        req = (FOLLOWER_IDS if followers else FOLLOWING_IDS).request(
            user_id, page_size, page_token, default=5000, maximum=10000)
        ids = await self._read(lambda c: repository.follow_ids(
            c, user_id, followers=followers, after=last_id(req) or 0,
            limit=req.fetch_size))
        return req.page(ids, LastId)

    async def follower_ids(self, user_id: int, *, page_size: int, page_token: str,
                           max_count: int) -> tuple[int, list[int], str]:
        """A batch of follower ids and the next batch's token, with the follower
        count on the first batch (and no ids when it is above `max_count`, if
        set): fanout's whole question about a small account in one query."""
        if page_token:
            ids, token = await self.follow_ids(user_id, followers=True, page_size=page_size,
                                               page_token=page_token)
            return 0, ids, token
        req = FOLLOWER_IDS.request(user_id, page_size, page_token, default=5000,
                                   maximum=10000)
        count, ids = await self._read(lambda c: repository.first_follower_ids(
            c, user_id, limit=req.fetch_size, max_count=max_count))
        shown, token = req.page(ids, LastId)
        return count, shown, token

    async def all_users(self, page_size: int, page_token: str) -> tuple[list[UserRecord], str]:
        req = ALL_USERS.request(0, page_size, page_token, default=1000, maximum=5000)
        users = await self._read(lambda c: repository.users_after(
            c, last_id(req) or 0, req.fetch_size))
        return req.page(users, lambda u: LastId(u.user_id))

    async def summaries(self, user_ids: list[int]) -> list[UserRecord]:
        if len(user_ids) > MAX_BATCH_IDS:
            raise InvalidArgument.field("user_ids", f"at most {MAX_BATCH_IDS} ids")
        unique = sorted(set(user_ids))
        return await self._read(lambda c: repository.summaries(c, unique)) if unique else []

    async def by_usernames(self, usernames: list[str]) -> list[UserRecord]:
        if len(usernames) > MAX_BATCH_NAMES:
            raise InvalidArgument.field("usernames", f"at most {MAX_BATCH_NAMES} names")
        names = [u for u in usernames if USERNAME_RE.fullmatch(u)]  # no others exist
        return await self._read(lambda c: repository.by_usernames(c, names)) if names else []

    async def follower_count(self, user_id: int) -> int:
        return (await self.get_user(user_id)).follower_count

    async def check_follow(self, follower_id: int, followee_id: int) -> bool:
        return await self._read(lambda c: repository.follows_exists(c, follower_id, followee_id))


async def _not_blocked(conn: Conn, follower_id: int, followee_id: int) -> None:
    """Checked under both users' row locks, which a block takes too. To the
    blocked user the blocker does not exist, so following them is NOT_FOUND
    word for word as for a missing user; the blocker, who knows, is told
    (docs/SECURITY.md, "Blocks")."""
    if await relations.blocks(conn, follower_id, followee_id):
        raise PermissionDenied("you block this user: unblock them first")
    if await relations.blocks(conn, followee_id, follower_id):
        raise NotFound(FOLLOWEE_NOT_FOUND)
