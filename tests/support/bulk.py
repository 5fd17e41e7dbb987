"""Bulk test data loaded straight into the users service's tables with COPY.

Creating thousands of followers through the API would spend minutes in
argon2; tests that need a celebrity or a 20,000-follower fanout load fake
followers here instead (they cannot log in: their password hash is invalid)."""

from __future__ import annotations

import secrets

import psycopg


def load_users(pg_dsn: str, count: int) -> list[int]:
    """Adds `count` new users (who cannot log in); returns their ids."""
    # Ids from a random range far above real snowflakes, so runs never collide.
    base = 8_000_000_000_000_000_000 + secrets.randbelow(10**9) * 10**6
    ids = [base + i for i in range(1, count + 1)]
    tag = secrets.token_hex(3)
    with psycopg.connect(pg_dsn) as conn, conn.transaction(), \
            conn.cursor().copy("COPY users (user_id, username, email, password_hash,"
                               " display_name) FROM STDIN") as copy:
        for n, user_id in enumerate(ids):
            name = f"z{tag}{n}"[:15]
            copy.write_row((user_id, name, f"{name}.{user_id}@bulk.example", "!", name))
    return ids


def load_followers(pg_dsn: str, followee_id: int, count: int) -> list[int]:
    """Adds `count` new users who follow `followee_id`; returns their ids."""
    ids = load_users(pg_dsn, count)
    with psycopg.connect(pg_dsn) as conn, conn.transaction():
        with conn.cursor().copy("COPY follows (follower_id, followee_id) FROM STDIN") as copy:
            for user_id in ids:
                copy.write_row((user_id, followee_id))
        conn.execute("UPDATE users SET follower_count = follower_count + %s WHERE user_id = %s",
                     (count, followee_id))
        conn.execute("UPDATE users SET following_count = 1 WHERE user_id = ANY(%s)", (ids,))
    return ids


def load_list_members(pg_dsn: str, list_id: int, user_ids: list[int]) -> None:
    """Adds members to a list as AddListMember would, counted (no cap check)."""
    with psycopg.connect(pg_dsn) as conn, conn.transaction():
        with conn.cursor().copy("COPY list_members (list_id, user_id) FROM STDIN") as copy:
            for user_id in user_ids:
                copy.write_row((list_id, user_id))
        conn.execute("UPDATE lists SET member_count = member_count + %s, version = version + 1"
                     " WHERE list_id = %s",
                     (len(user_ids), list_id))
