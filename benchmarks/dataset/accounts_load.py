"""Users and the follow graph, COPY-loaded into the users service's tables.

Writes what sign-up and FollowUser write: a `users` row per account (display
name = username, as a sign-up without one gets, and a real argon2id hash of the
shared benchmark password, made once with the service's own Passwords and its
cost settings, so every generated user can log in), the `follows` rows, and
exact follower/following counts recomputed from `follows`. Skipped: the
user.created and follow.created outbox events (their consumers are the search
index of users, which the workload does not read, and the timeline's
`following` cache, which is filled on first read anyway).

Idempotent: rows are inserted with ON CONFLICT DO NOTHING and the counts are
recomputed, so a re-run (or a run after an interrupted one) converges; a run
that finds everything in place returns at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg

from benchmarks.accounts import PASSWORD
from benchmarks.dataset.graph import Dataset
from services.users.passwords import Passwords
from services.users.settings import UsersSettings

Progress = Callable[[int], object]


def password_hash() -> str:
    settings = UsersSettings()
    passwords = Passwords(time_cost=settings.argon2_time_cost,
                          memory_kib=settings.argon2_memory_kib,
                          parallelism=settings.argon2_parallelism, threads=1)
    try:
        return asyncio.run(passwords.hash(PASSWORD))
    finally:
        passwords.close()


def loaded(pg_dsn: str, data: Dataset) -> bool:
    ids = [u.user_id for u in data.accounts]
    with psycopg.connect(pg_dsn) as conn:
        users = conn.execute("SELECT count(*) FROM users WHERE user_id = ANY(%s)",
                             (ids,)).fetchone()
        follows = conn.execute("SELECT count(*) FROM follows WHERE follower_id = ANY(%s)",
                               (ids,)).fetchone()
    # Follows only grow beyond the dataset's (the workload follows more).
    return bool(users and follows and users[0] == len(ids) and follows[0] >= len(data.follows))


def load(pg_dsn: str, data: Dataset, progress: Progress) -> None:
    hashed = password_hash()
    accounts = data.accounts
    with psycopg.connect(pg_dsn) as conn, conn.transaction():
        conn.execute("CREATE TEMP TABLE bulk_users (LIKE users INCLUDING DEFAULTS)"
                     " ON COMMIT DROP")
        conn.execute("CREATE TEMP TABLE bulk_follows (follower_id bigint, followee_id bigint)"
                     " ON COMMIT DROP")
        with conn.cursor().copy("COPY bulk_users (user_id, username, email, password_hash,"
                                " display_name) FROM STDIN") as copy:
            for user in accounts:
                copy.write_row((user.user_id, user.username,
                                f"{user.username}@bench.example", hashed, user.username))
        progress(len(accounts))
        with conn.cursor().copy("COPY bulk_follows FROM STDIN") as copy:
            for n, row in enumerate(data.follows, 1):
                copy.write_row(row)
                if n % 10_000 == 0:
                    progress(10_000)
        progress(len(data.follows) % 10_000)
        conn.execute("INSERT INTO users SELECT * FROM bulk_users ON CONFLICT DO NOTHING")
        conn.execute("INSERT INTO follows (follower_id, followee_id)"
                     " SELECT follower_id, followee_id FROM bulk_follows ON CONFLICT DO NOTHING")
        conn.execute(
            "UPDATE users u SET"
            " follower_count = (SELECT count(*) FROM follows f WHERE f.followee_id = u.user_id),"
            " following_count = (SELECT count(*) FROM follows f WHERE f.follower_id = u.user_id)"
            " WHERE u.user_id IN (SELECT user_id FROM bulk_users)")
