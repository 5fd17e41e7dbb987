"""Sessions and refresh-token rotation (PostgreSQL queries)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from psycopg import AsyncConnection

Conn = AsyncConnection[Any]


class Rotation(Enum):
    OK = "ok"
    INVALID = "invalid"  # unknown, expired or revoked
    REUSED = "reused"  # an already-rotated token: the session is now revoked


async def create_session(conn: Conn, session_id: int, user_id: int, token_hash: bytes,
                         expires_at: datetime) -> None:
    await conn.execute(
        "INSERT INTO sessions (session_id, user_id, expires_at) VALUES (%s, %s, %s)",
        (session_id, user_id, expires_at))
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (%s, %s, %s)",
        (token_hash, session_id, expires_at),
    )


async def rotate(conn: Conn, token_hash: bytes, new_hash: bytes,
                 expires_at: datetime) -> tuple[Rotation, int, int]:
    """Marks a refresh token used and issues its successor, atomically.

    Returns (outcome, user_id, session_id). Must run in a transaction; the row
    lock makes two concurrent uses of one token see each other.
    """
    cur = await conn.execute(
        "SELECT t.session_id, s.user_id, t.used_at IS NOT NULL, t.expires_at < now(),"
        "       s.revoked_at IS NOT NULL"
        " FROM refresh_tokens t JOIN sessions s USING (session_id)"
        " WHERE t.token_hash = %s FOR UPDATE OF t, s", (token_hash,),
    )
    row = await cur.fetchone()
    if row is None:
        return Rotation.INVALID, 0, 0
    session_id, user_id, used, expired, revoked = row
    if revoked or expired:
        return Rotation.INVALID, user_id, session_id
    if used:
        await revoke(conn, session_id)
        return Rotation.REUSED, user_id, session_id
    await conn.execute("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = %s",
                       (token_hash,))
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (%s, %s, %s)",
        (new_hash, session_id, expires_at),
    )
    # The session lives as long as its newest refresh token (retention.py).
    await conn.execute("UPDATE sessions SET expires_at = %s WHERE session_id = %s",
                       (expires_at, session_id))
    return Rotation.OK, user_id, session_id


async def revoke(conn: Conn, session_id: int) -> None:
    await conn.execute(
        "UPDATE sessions SET revoked_at = now() WHERE session_id = %s AND revoked_at IS NULL",
        (session_id,),
    )


async def unannounced(conn: Conn, session_ids: list[int] | None = None, *,
                      limit: int = 500) -> list[tuple[int, datetime]]:
    """Revoked sessions not yet announced to the other services (all of them,
    or those among `session_ids`), with when they were revoked."""
    cur = await conn.execute(
        "SELECT session_id, revoked_at FROM sessions"
        " WHERE revoked_at IS NOT NULL AND NOT revocation_announced"
        "   AND (%(ids)s::bigint[] IS NULL OR session_id = ANY(%(ids)s))"
        " ORDER BY revoked_at LIMIT %(limit)s", {"ids": session_ids, "limit": limit})
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def revoked_since(conn: Conn, seconds: float) -> list[tuple[int, datetime]]:
    cur = await conn.execute(
        "SELECT session_id, revoked_at FROM sessions"
        " WHERE revoked_at > now() - make_interval(secs => %s)", (seconds,))
    return [(r[0], r[1]) for r in await cur.fetchall()]


async def mark_announced(conn: Conn, session_ids: list[int]) -> None:
    await conn.execute(
        "UPDATE sessions SET revocation_announced = true WHERE session_id = ANY(%s)",
        (session_ids,))


async def session_of(conn: Conn, token_hash: bytes) -> int | None:
    cur = await conn.execute("SELECT session_id FROM refresh_tokens WHERE token_hash = %s",
                             (token_hash,))
    row = await cur.fetchone()
    return row[0] if row else None
