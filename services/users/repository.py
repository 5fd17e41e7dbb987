"""PostgreSQL queries of the users service. Every function takes the connection
of the caller's transaction, so the service layer decides transaction scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

from psycopg import AsyncConnection, errors
from psycopg.rows import dict_row

from services.shared.errors import AlreadyExists, FieldViolation
from services.users.domain import FollowRecord, SignUp, UserRecord

Conn = AsyncConnection[Any]

PROFILE = ("user_id, username, display_name, bio, location, website, profile_picture_url,"
            " follower_count, following_count, created_at, verified, pinned_tweet_id")
_UNIQUE_FIELDS = {"users_username_key": "username", "users_email_key": "email"}


def user_record(row: dict[str, Any]) -> UserRecord:
    values = {k: row[k] for k in UserRecord.__dataclass_fields__}
    values["pinned_tweet_id"] = values["pinned_tweet_id"] or 0  # null: none
    return UserRecord(**values)


async def insert_user(conn: Conn, user_id: int, sign_up: SignUp, password_hash: str) -> UserRecord:
    try:
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"INSERT INTO users (user_id, username, email, password_hash, display_name)"
                f" VALUES (%s, %s, %s, %s, %s) RETURNING {PROFILE}",
                (user_id, sign_up.username, sign_up.email, password_hash, sign_up.display_name),
            )
            row = await cur.fetchone()
    except errors.UniqueViolation as exc:
        field = _UNIQUE_FIELDS.get(exc.diag.constraint_name or "", "username")
        raise AlreadyExists(f"{field} is already taken",) from exc
    assert row is not None
    return user_record(row)


async def taken_fields(conn: Conn, username: str, email: str) -> list[FieldViolation]:
    """Cheap pre-check so duplicate sign-ups fail before the costly password hash."""
    cur = await conn.execute(
        "SELECT lower(username) = lower(%s), lower(email) = lower(%s) FROM users"
        " WHERE lower(username) = lower(%s) OR lower(email) = lower(%s)",
        (username, email, username, email),
    )
    taken: list[FieldViolation] = []
    for same_name, same_email in await cur.fetchall():
        if same_name:
            taken.append(FieldViolation("username", "is already taken"))
        if same_email:
            taken.append(FieldViolation("email", "is already taken"))
    return taken


async def get_user(conn: Conn, user_id: int) -> UserRecord | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {PROFILE} FROM users WHERE user_id = %s", (user_id,))
    row = await cur.fetchone()
    return user_record(row) if row else None


async def get_user_by_username(conn: Conn, username: str) -> UserRecord | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {PROFILE} FROM users WHERE lower(username) = lower(%s)",
                      (username,))
    row = await cur.fetchone()
    return user_record(row) if row else None


async def get_credentials(conn: Conn, login: str) -> tuple[int, str] | None:
    """(user_id, password_hash) for a username or an email, in any case."""
    column = "email" if "@" in login else "username"
    cur = await conn.execute(
        f"SELECT user_id, password_hash FROM users WHERE lower({column}) = lower(%s)",
        (login,),
    )
    row = await cur.fetchone()
    return (row[0], row[1]) if row else None


async def set_password_hash(conn: Conn, user_id: int, password_hash: str) -> None:
    await conn.execute("UPDATE users SET password_hash = %s WHERE user_id = %s",
                       (password_hash, user_id))


async def update_profile(conn: Conn, user_id: int, changes: dict[str, str]) -> UserRecord | None:
    if not changes:
        return await get_user(conn, user_id)
    # Column names come from the fixed LIMITS table in domain, never from input.
    assignments = ", ".join(f"{column} = %({column})s" for column in changes)
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"UPDATE users SET {assignments}, updated_at = now()"
        f" WHERE user_id = %(user_id)s RETURNING {PROFILE}",
        {**changes, "user_id": user_id},
    )
    row = await cur.fetchone()
    return user_record(row) if row else None


class FollowChange(Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    MISSING_TARGET = "missing_target"


async def lock_pair(conn: Conn, a: int, b: int) -> set[int]:
    """Locks both users' rows in id order, so A-follows-B racing B-follows-A
    cannot deadlock, and the counter updates after it are serialised."""
    cur = await conn.execute(
        "SELECT user_id FROM users WHERE user_id = ANY(%s) ORDER BY user_id FOR NO KEY UPDATE",
        ([a, b],),
    )
    return {r[0] for r in await cur.fetchall()}


PairCheck = Callable[[Conn, int, int], Awaitable[None]]


async def follow(conn: Conn, follower_id: int, followee_id: int, *,
                 allowed: PairCheck | None = None) -> FollowChange:
    """`allowed` runs under the pair's locks and raises to refuse the follow."""
    if followee_id not in await lock_pair(conn, follower_id, followee_id):
        return FollowChange.MISSING_TARGET
    if allowed is not None:
        await allowed(conn, follower_id, followee_id)
    cur = await conn.execute(
        "INSERT INTO follows (follower_id, followee_id) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING", (follower_id, followee_id),
    )
    if cur.rowcount == 0:
        return FollowChange.UNCHANGED
    await _bump_counts(conn, follower_id, followee_id, +1)
    return FollowChange.CHANGED


async def unfollow(conn: Conn, follower_id: int, followee_id: int) -> FollowChange:
    await lock_pair(conn, follower_id, followee_id)
    cur = await conn.execute(
        "DELETE FROM follows WHERE follower_id = %s AND followee_id = %s",
        (follower_id, followee_id),
    )
    if cur.rowcount == 0:
        return FollowChange.UNCHANGED
    await _bump_counts(conn, follower_id, followee_id, -1)
    return FollowChange.CHANGED


async def _bump_counts(conn: Conn, follower_id: int, followee_id: int, delta: int) -> None:
    await conn.execute(
        "UPDATE users SET"
        " following_count = following_count + CASE WHEN user_id = %(a)s THEN %(d)s ELSE 0 END,"
        " follower_count = follower_count + CASE WHEN user_id = %(b)s THEN %(d)s ELSE 0 END"
        " WHERE user_id IN (%(a)s, %(b)s)",
        {"a": follower_id, "b": followee_id, "d": delta},
    )


async def list_follows(conn: Conn, user_id: int, *, followers: bool,
                       after: tuple[datetime, int] | None, limit: int) -> list[FollowRecord]:
    """Followers (or following) newest first, by keyset (created_at, other id)."""
    me, other = ("followee_id", "follower_id") if followers else ("follower_id", "followee_id")
    keyset = f"AND (f.created_at, f.{other}) < (%(at)s, %(id)s)" if after else ""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT f.created_at AS followed_at, {', '.join('u.' + c for c in PROFILE.split(', '))}"
        f" FROM follows f JOIN users u ON u.user_id = f.{other}"
        f" WHERE f.{me} = %(user_id)s {keyset}"
        f" ORDER BY f.created_at DESC, f.{other} DESC LIMIT %(limit)s",
        {"user_id": user_id, "at": after[0] if after else None,
         "id": after[1] if after else None, "limit": limit},
    )
    return [FollowRecord(user_record(row), row["followed_at"]) for row in await cur.fetchall()]


async def follow_ids(conn: Conn, user_id: int, *, followers: bool, after: int,
                     limit: int) -> list[int]:
    """Follower (or followee) ids in ascending order after `after`: an index-only
    range scan, as fast at the millionth follower as at the first."""
    if followers:
        sql = ("SELECT follower_id FROM follows WHERE followee_id = %s AND follower_id > %s"
               " ORDER BY follower_id LIMIT %s")
    else:
        sql = ("SELECT followee_id FROM follows WHERE follower_id = %s AND followee_id > %s"
               " ORDER BY followee_id LIMIT %s")
    cur = await conn.execute(sql, (user_id, after, limit))
    return [r[0] for r in await cur.fetchall()]


async def first_follower_ids(conn: Conn, user_id: int, *, limit: int,
                             max_count: int) -> tuple[int, list[int]]:
    """The user's follower count and, unless it is above `max_count` (when that
    is above 0), their first `limit` follower ids: one statement, one snapshot.
    (0, []) for a user who does not exist."""
    cur = await conn.execute(
        "SELECT u.follower_count, ARRAY(SELECT f.follower_id FROM follows f"
        " WHERE f.followee_id = u.user_id ORDER BY f.follower_id"
        " LIMIT CASE WHEN %(max)s > 0 AND u.follower_count > %(max)s THEN 0 ELSE %(limit)s END)"
        " FROM users u WHERE u.user_id = %(user_id)s",
        {"user_id": user_id, "max": max_count, "limit": limit})
    row = await cur.fetchone()
    return (0, []) if row is None else (int(row[0]), list(row[1]))


async def users_after(conn: Conn, after: int, limit: int) -> list[UserRecord]:
    """Profiles in id order after `after` (a primary-key range scan)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {PROFILE} FROM users WHERE user_id > %s ORDER BY user_id LIMIT %s",
                      (after, limit))
    return [user_record(r) for r in await cur.fetchall()]


async def summaries(conn: Conn, user_ids: Sequence[int]) -> list[UserRecord]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {PROFILE} FROM users WHERE user_id = ANY(%s)", (list(user_ids),))
    return [user_record(r) for r in await cur.fetchall()]


async def by_usernames(conn: Conn, usernames: Sequence[str]) -> list[UserRecord]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {PROFILE} FROM users WHERE lower(username) = ANY(%s)",
                      ([u.lower() for u in usernames],))
    return [user_record(r) for r in await cur.fetchall()]


async def follows_exists(conn: Conn, follower_id: int, followee_id: int) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM follows WHERE follower_id = %s AND followee_id = %s",
        (follower_id, followee_id),
    )
    return await cur.fetchone() is not None


async def set_verified(conn: Conn, user_id: int, verified: bool) -> UserRecord | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"UPDATE users SET verified = %s, updated_at = now() WHERE user_id = %s"
                      f" RETURNING {PROFILE}", (verified, user_id))
    row = await cur.fetchone()
    return user_record(row) if row else None


async def set_pinned(conn: Conn, user_id: int, tweet_id: int | None) -> UserRecord | None:
    """Pins a tweet (None: unpins); the profile after it."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"UPDATE users SET pinned_tweet_id = %s, updated_at = now()"
                      f" WHERE user_id = %s RETURNING {PROFILE}", (tweet_id, user_id))
    row = await cur.fetchone()
    return user_record(row) if row else None


async def clear_pin_of(conn: Conn, user_id: int, tweet_id: int) -> None:
    """Unpins the tweet if it is still the one pinned (a newer pin stays)."""
    await conn.execute("UPDATE users SET pinned_tweet_id = NULL, updated_at = now()"
                       " WHERE user_id = %s AND pinned_tweet_id = %s", (user_id, tweet_id))


async def is_verified(conn: Conn, user_id: int) -> bool:
    cur = await conn.execute("SELECT verified FROM users WHERE user_id = %s", (user_id,))
    row = await cur.fetchone()
    return bool(row and row[0])
