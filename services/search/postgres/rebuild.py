"""PostgreSQL rebuild: new tables beside the live ones (same columns, generated
columns and indexes), COPY-loaded, then renamed into place in one transaction.
Queries see the old tables until the commit and the new ones after; the
renames wait only for the queries already running."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg_pool import AsyncConnectionPool

from services.search.backend import TweetDoc, UserDoc

TABLES = ("tweets", "users")
_TWEET_COLUMNS = ("tweet_id, author_id, content, hashtags, mention_ids, created_at, like_count,"
                  " retweet_count, revision")
_USER_COLUMNS = "user_id, username, display_name, bio, profile_picture_url, follower_count"


class PostgresRebuild:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def start(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            for table in TABLES:
                await conn.execute(f"DROP TABLE IF EXISTS search.{table}_build")
                await conn.execute(f"CREATE TABLE search.{table}_build"
                                   f" (LIKE search.{table} INCLUDING ALL)")

    async def add_tweets(self, docs: Sequence[TweetDoc]) -> None:
        async with self._pool.connection() as conn, conn.cursor() as cur, cur.copy(
                f"COPY search.tweets_build ({_TWEET_COLUMNS}) FROM STDIN") as copy:
            for d in docs:
                await copy.write_row((d.tweet_id, d.author_id, d.content, list(d.hashtags),
                                      list(d.mention_ids), d.created_at, d.likes, d.retweets,
                                      d.revision))

    async def add_users(self, docs: Sequence[UserDoc]) -> None:
        async with self._pool.connection() as conn, conn.cursor() as cur, cur.copy(
                f"COPY search.users_build ({_USER_COLUMNS}) FROM STDIN") as copy:
            for u in docs:
                await copy.write_row((u.user_id, u.username, u.display_name, u.bio,
                                      u.profile_picture_url, u.follower_count))

    async def swap(self) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            # Deletes are final: one that landed while the tables filled still holds.
            await conn.execute("DELETE FROM search.tweets_build b USING search.deleted_tweets d"
                               " WHERE b.tweet_id = d.tweet_id")
            for table in TABLES:
                await conn.execute(f"ALTER TABLE search.{table} RENAME TO {table}_old")
                await conn.execute(f"ALTER TABLE search.{table}_build RENAME TO {table}")
                await conn.execute(f"DROP TABLE search.{table}_old")
                # Index names came from the build table's: give them the live one's.
                cur = await conn.execute(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = 'search'"
                    " AND tablename = %s AND indexname LIKE %s", (table, f"{table}\\_build\\_%"))
                for (index,) in await cur.fetchall():
                    new = table + index.removeprefix(f"{table}_build")
                    await conn.execute(f'ALTER INDEX search."{index}" RENAME TO "{new}"')
            await conn.execute("ANALYZE search.tweets")

    async def discard(self) -> None:
        async with self._pool.connection() as conn:
            for table in TABLES:
                await conn.execute(f"DROP TABLE IF EXISTS search.{table}_build")
