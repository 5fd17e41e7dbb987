"""PostgreSQL queries for blocks and mutes. Each takes the caller's connection,
so the service layer (services/users/blocks.py, social.py, pins.py) decides
transactions."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from psycopg.rows import dict_row
from twitter.users.v1 import users_pb2

from services.users.domain import FollowRecord
from services.users.repository import PROFILE, Conn, user_record


class Kind(Enum):
    """The two relations, each a table of (owner, other) pairs. Queries take
    table and column names only from here, never from input."""

    BLOCK = ("blocks", "blocker_id", "blocked_id")
    MUTE = ("mutes", "muter_id", "muted_id")

    @property
    def table(self) -> str:
        return self.value[0]

    @property
    def owner(self) -> str:
        return self.value[1]

    @property
    def other(self) -> str:
        return self.value[2]


async def add(conn: Conn, kind: Kind, owner: int, other: int) -> bool:
    cur = await conn.execute(
        f"INSERT INTO {kind.table} ({kind.owner}, {kind.other}) VALUES (%s, %s)"  # noqa: S608
        " ON CONFLICT DO NOTHING", (owner, other))
    return cur.rowcount > 0


async def remove(conn: Conn, kind: Kind, owner: int, other: int) -> bool:
    cur = await conn.execute(
        f"DELETE FROM {kind.table} WHERE {kind.owner} = %s AND {kind.other} = %s",  # noqa: S608
        (owner, other))
    return cur.rowcount > 0


async def bump_versions(conn: Conn, user_ids: list[int]) -> None:
    """Under the rows' locks (taken by the caller), so versions only grow."""
    await conn.execute(
        "UPDATE users SET relations_version = relations_version + 1 WHERE user_id = ANY(%s)",
        (user_ids,))


async def lock_user(conn: Conn, user_id: int) -> None:
    await conn.execute("SELECT 1 FROM users WHERE user_id = %s FOR NO KEY UPDATE", (user_id,))


async def viewer_relations(conn: Conn, user_id: int) -> users_pb2.ViewerRelations:
    """All of a user's relations and their version, in one statement (one snapshot)."""
    cur = await conn.execute(
        "SELECT relations_version,"
        " ARRAY(SELECT blocked_id FROM blocks WHERE blocker_id = u.user_id),"
        " ARRAY(SELECT blocker_id FROM blocks WHERE blocked_id = u.user_id),"
        " ARRAY(SELECT muted_id FROM mutes WHERE muter_id = u.user_id)"
        " FROM users u WHERE u.user_id = %s", (user_id,))
    row = await cur.fetchone()
    if row is None:
        return users_pb2.ViewerRelations(user_id=user_id)
    version, blocked, blocked_by, muted = row
    return users_pb2.ViewerRelations(user_id=user_id, version=version, blocked_ids=blocked,
                                     blocked_by_ids=blocked_by, muted_ids=muted)


async def blockers_among(conn: Conn, blocked: int, user_ids: list[int]) -> set[int]:
    """Those of `user_ids` who block `blocked`."""
    cur = await conn.execute(
        "SELECT blocker_id FROM blocks WHERE blocked_id = %s AND blocker_id = ANY(%s)",
        (blocked, user_ids))
    return {row[0] for row in await cur.fetchall()}


async def blocks(conn: Conn, blocker: int, blocked: int) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM blocks WHERE blocker_id = %s AND blocked_id = %s", (blocker, blocked))
    return await cur.fetchone() is not None


async def listed(conn: Conn, kind: Kind, owner: int, *, after: tuple[datetime, int] | None,
                 limit: int) -> list[FollowRecord]:
    """The users a user blocks (or mutes), newest first, keyset (created_at, id)."""
    keyset = f"AND (r.created_at, r.{kind.other}) < (%(at)s, %(id)s)" if after else ""
    columns = ", ".join("u." + c for c in PROFILE.split(", "))
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT r.created_at AS related_at, {columns}"  # noqa: S608 - names from Kind
        f" FROM {kind.table} r JOIN users u ON u.user_id = r.{kind.other}"
        f" WHERE r.{kind.owner} = %(owner)s {keyset}"
        f" ORDER BY r.created_at DESC, r.{kind.other} DESC LIMIT %(limit)s",
        {"owner": owner, "at": after[0] if after else None,
         "id": after[1] if after else None, "limit": limit})
    return [FollowRecord(user_record(row), row["related_at"]) for row in await cur.fetchall()]
