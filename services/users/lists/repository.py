"""PostgreSQL queries for lists (tables in migrations/postgres/0009_users_lists.sql).
Each takes the caller's connection, so the service layer (services/users/lists/service.py)
decides transactions and row locks.

Lock order, shared with follows and blocks: users' rows (id order), then list
rows (id order), then member and follower rows. Counts change only under
their list row's lock, in the transaction that inserts or deletes the rows
they count, so they stay exact."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row
from twitter.users.v1 import lists_pb2

from services.users.lists.rules import ListRecord, MemberRecord
from services.users.repository import PROFILE, Conn, user_record

_OWNER = ", ".join(f"u.{c}" for c in PROFILE.split(", ") if c != "created_at")
# Column names from PROFILE, never from input.
_SELECT = " ".join((
    # list_ names where the owner's profile has a column of the same name
    "SELECT l.list_id, l.name, l.description, l.private, l.member_count,",
    "l.follower_count AS list_follower_count,",
    "l.created_at AS list_created_at, u.created_at,", _OWNER + ",",
    "EXISTS (SELECT 1 FROM list_followers f WHERE f.list_id = l.list_id",
    "        AND f.user_id = %(viewer)s) AS following,",
    "EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = l.owner_id",
    "        AND b.blocked_id = %(viewer)s) AS owner_blocks_viewer",
    "FROM lists l JOIN users u ON u.user_id = l.owner_id"))


def _record(row: dict[str, Any]) -> ListRecord:
    return ListRecord(row["list_id"], user_record(row), row["name"], row["description"],
                      row["private"], row["member_count"], row["list_follower_count"],
                      row["list_created_at"], row["following"], row["owner_blocks_viewer"])


async def _records(conn: Conn, sql: str, params: dict[str, Any]) -> list[ListRecord]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(sql, params)
    return [_record(r) for r in await cur.fetchall()]


async def get(conn: Conn, list_id: int, viewer: int, *, lock: bool = False
              ) -> ListRecord | None:
    """A list as `viewer` sees it; `lock` takes its row lock (for a change)."""
    found = await _records(conn, _SELECT + " WHERE l.list_id = %(id)s"
                           + (" FOR NO KEY UPDATE OF l" if lock else ""),
                           {"id": list_id, "viewer": viewer})
    return found[0] if found else None


async def insert(conn: Conn, list_id: int, owner: int, fields: dict[str, str],
                 private: bool) -> None:
    await conn.execute(
        "INSERT INTO lists (list_id, owner_id, name, description, private)"
        " VALUES (%s, %s, %s, %s, %s)",
        (list_id, owner, fields["name"], fields.get("description", ""), private))


async def count_owned(conn: Conn, owner: int) -> int:
    cur = await conn.execute("SELECT count(*) FROM lists WHERE owner_id = %s", (owner,))
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def update(conn: Conn, list_id: int, fields: dict[str, str],
                 private: bool | None) -> None:
    sets = [f"{name} = %({name})s" for name in fields if name in ("name", "description")]
    if private is not None:
        sets.append("private = %(private)s, version = version + 1")
    if sets:
        await conn.execute(f"UPDATE lists SET {', '.join(sets)} WHERE list_id = %(id)s",
                           {**fields, "private": private, "id": list_id})


async def delete(conn: Conn, list_id: int) -> None:
    await conn.execute("DELETE FROM lists WHERE list_id = %s", (list_id,))


async def add_member(conn: Conn, list_id: int, user_id: int) -> bool:
    cur = await conn.execute(
        "INSERT INTO list_members (list_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (list_id, user_id))
    if cur.rowcount > 0:
        await _bump(conn, "member_count", {list_id: 1})
    return cur.rowcount > 0


async def is_member(conn: Conn, list_id: int, user_id: int) -> bool:
    cur = await conn.execute("SELECT 1 FROM list_members WHERE list_id = %s AND user_id = %s",
                             (list_id, user_id))
    return await cur.fetchone() is not None


async def remove_member(conn: Conn, list_id: int, user_id: int) -> bool:
    cur = await conn.execute("DELETE FROM list_members WHERE list_id = %s AND user_id = %s",
                             (list_id, user_id))
    if cur.rowcount > 0:
        await _bump(conn, "member_count", {list_id: -1})
    return cur.rowcount > 0


async def add_follower(conn: Conn, list_id: int, user_id: int) -> bool:
    cur = await conn.execute(
        "INSERT INTO list_followers (list_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (list_id, user_id))
    if cur.rowcount > 0:
        await _bump(conn, "follower_count", {list_id: 1})
    return cur.rowcount > 0


async def remove_follower(conn: Conn, list_id: int, user_id: int) -> bool:
    cur = await conn.execute("DELETE FROM list_followers WHERE list_id = %s AND user_id = %s",
                             (list_id, user_id))
    if cur.rowcount > 0:
        await _bump(conn, "follower_count", {list_id: -1})
    return cur.rowcount > 0


async def drop_followers(conn: Conn, list_id: int) -> None:
    """Every follower of a list (it became private); under its row lock."""
    await conn.execute("DELETE FROM list_followers WHERE list_id = %s", (list_id,))
    await conn.execute("UPDATE lists SET follower_count = 0 WHERE list_id = %s", (list_id,))


async def _bump(conn: Conn, column: str, deltas: dict[int, int]) -> None:
    """Moves a count; a member count's change also moves the list's version
    (the audience cache keeps the newest copy). Column names come from this
    module only, never from input."""
    version = ", version = version + 1" if column == "member_count" else ""
    for list_id, delta in deltas.items():
        await conn.execute(
            f"UPDATE lists SET {column} = {column} + %s{version} WHERE list_id = %s",
            (delta, list_id))


async def drop_between(conn: Conn, a: int, b: int) -> list[int]:
    """Removes each of two users from the other's lists, as member and as
    follower (a block between them); returns the lists whose members changed.
    The caller holds both users' row locks; the lists' rows are locked here in
    id order before their rows change."""
    params = {"a": a, "b": b}
    changed: list[int] = []
    pairs = ("(l.owner_id = %(a)s AND x.user_id = %(b)s)"
             " OR (l.owner_id = %(b)s AND x.user_id = %(a)s)")
    for table, column in (("list_members", "member_count"),
                          ("list_followers", "follower_count")):
        cur = await conn.execute(
            f"SELECT l.list_id FROM lists l JOIN {table} x ON x.list_id = l.list_id"
            f" WHERE {pairs} ORDER BY l.list_id FOR NO KEY UPDATE OF l", params)
        locked = [r[0] for r in await cur.fetchall()]
        if not locked:
            continue
        cur = await conn.execute(
            f"DELETE FROM {table} x USING lists l WHERE x.list_id = l.list_id"
            f" AND l.list_id = ANY(%(ids)s) AND ({pairs}) RETURNING x.list_id",
            {**params, "ids": locked})
        deltas: dict[int, int] = {}
        for (list_id,) in await cur.fetchall():
            deltas[list_id] = deltas.get(list_id, 0) - 1
        await _bump(conn, column, deltas)
        if column == "member_count":
            changed = sorted(deltas)
    return changed


async def audience(conn: Conn, list_id: int) -> lists_pb2.ListAudience | None:
    """Owner, privacy, members and version, read together (one statement)."""
    cur = await conn.execute(
        "SELECT owner_id, private, version, ARRAY(SELECT user_id FROM list_members m"
        " WHERE m.list_id = l.list_id) FROM lists l WHERE list_id = %s", (list_id,))
    row = await cur.fetchone()
    if row is None:
        return None
    return lists_pb2.ListAudience(list_id=list_id, owner_id=row[0], private=row[1],
                                  version=row[2], member_ids=row[3])


async def members(conn: Conn, list_id: int, *, after: tuple[datetime, int] | None,
                  limit: int) -> list[MemberRecord]:
    """Members newest addition first, keyset (added_at, user id)."""
    keyset = "AND (m.added_at, m.user_id) < (%(at)s, %(id)s)" if after else ""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT m.added_at, {', '.join('u.' + c for c in PROFILE.split(', '))}"
        f" FROM list_members m JOIN users u ON u.user_id = m.user_id"
        f" WHERE m.list_id = %(list)s {keyset}"
        f" ORDER BY m.added_at DESC, m.user_id DESC LIMIT %(limit)s",
        {"list": list_id, "at": after[0] if after else None,
         "id": after[1] if after else None, "limit": limit})
    return [MemberRecord(user_record(r), r["added_at"]) for r in await cur.fetchall()]


async def owned(conn: Conn, owner: int, viewer: int, *, after: int | None,
                limit: int) -> list[ListRecord]:
    """An owner's lists newest first (by id); only public ones unless the
    viewer is the owner."""
    where = ["l.owner_id = %(owner)s"]
    if viewer != owner:
        where.append("NOT l.private")
    if after is not None:
        where.append("l.list_id < %(after)s")
    return await _records(conn, _SELECT + " WHERE " + " AND ".join(where)
                          + " ORDER BY l.list_id DESC LIMIT %(limit)s",
                          {"owner": owner, "viewer": viewer, "after": after, "limit": limit})


async def followed(conn: Conn, user_id: int, *, after: tuple[datetime, int] | None,
                   limit: int) -> list[tuple[datetime, ListRecord]]:
    """The lists a user follows, most recently followed first, keyset
    (followed_at, list id). Lists hidden from them since are left out by the
    caller (visible_to); a block or going private removes the row anyway."""
    keyset = "AND (lf.followed_at, lf.list_id) < (%(at)s, %(id)s)" if after else ""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        _SELECT.replace(" FROM lists l", ", lf.followed_at FROM lists l", 1)
        + " JOIN list_followers lf ON lf.list_id = l.list_id"
        f" WHERE lf.user_id = %(viewer)s {keyset}"
        " ORDER BY lf.followed_at DESC, lf.list_id DESC LIMIT %(limit)s",
        {"viewer": user_id, "at": after[0] if after else None,
         "id": after[1] if after else None, "limit": limit})
    return [(r["followed_at"], _record(r)) for r in await cur.fetchall()]
