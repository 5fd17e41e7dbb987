"""PostgreSQL full-text backend: weighted tsvector columns with GIN indexes,
pg_trgm for names, and a score that blends text rank, engagement and recency.

Only the newest CANDIDATES matches of a query are ranked (see below). Pages
are keyset-paged on (score, id). The score depends on the time, so the
first page fixes an `as_of` instant that later pages reuse (and tweets newer
than it are left out), keeping every row's score, and so the order, stable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import dict_row

from services.search.backend import Engagement, Rebuild, Semantics, TweetDoc, TweetFilter, UserDoc
from services.search.postgres.rebuild import PostgresRebuild
from services.search.ranking import RECENCY_SECONDS
from services.shared.resilience.health import Required
from services.shared.stores import postgres
from services.shared.stores.postgres import GuardedPool

# Ranking is computed for the newest CANDIDATES matches only: ts_rank_cd over
# every match of a very common word would cost tens of milliseconds per
# thousand rows, and a microblog's search favours recent posts anyway.
CANDIDATES = 2000

_SEARCH_TWEETS = """
WITH q AS (SELECT websearch_to_tsquery('english', %(text)s) AS query),
candidates AS (  -- ids only, so the sort carries no wide tsvector
    SELECT t.tweet_id
    FROM search.tweets t, q
    WHERE (NOT %(has_text)s OR t.document @@ q.query)
      AND t.hashtags @> %(hashtags)s::text[]
      AND t.mention_ids @> %(mentions)s::bigint[]
      AND (cardinality(%(authors)s::bigint[]) = 0 OR t.author_id = ANY(%(authors)s))
      AND t.created_at <= %(as_of)s
    ORDER BY t.tweet_id DESC
    LIMIT %(candidates)s
)
SELECT tweet_id, score FROM (
    SELECT c.tweet_id,
           (CASE WHEN %(has_text)s THEN ts_rank_cd(c.document, q.query, 32) ELSE 1 END)
           * (1 + ln(1 + c.like_count + 2 * c.retweet_count))
           * exp(-extract(epoch FROM (%(as_of)s - c.created_at)) / %(recency)s) AS score
    FROM candidates JOIN search.tweets c USING (tweet_id), q
) ranked
WHERE %(first)s OR (score, tweet_id) < (%(after_score)s, %(after_id)s)
ORDER BY score DESC, tweet_id DESC
LIMIT %(limit)s
"""

_SEARCH_USERS = """
SELECT * FROM (
    SELECT user_id, username, display_name, bio, profile_picture_url, follower_count,
           greatest(similarity(lower(username), %(q)s), similarity(lower(display_name), %(q)s))
           + CASE WHEN lower(username) LIKE %(prefix)s THEN 1 ELSE 0 END
           + ts_rank(document, plainto_tsquery('simple', %(q)s)
                               || plainto_tsquery('english', %(q)s))
           + ln(1 + follower_count) / 100 AS score
    FROM search.users
    WHERE lower(username) %% %(q)s OR lower(display_name) %% %(q)s
       OR lower(username) LIKE %(prefix)s OR lower(display_name) LIKE %(prefix)s
       OR document @@ (plainto_tsquery('simple', %(q)s) || plainto_tsquery('english', %(q)s))
) ranked
WHERE %(first)s OR (score, user_id) < (%(after_score)s, %(after_id)s)
ORDER BY score DESC, user_id DESC
LIMIT %(limit)s
"""


def _like_prefix(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class PostgresBackend:
    # English stemming ('english' text search configuration); no typos, no prefixes.
    semantics = Semantics(typos=False, prefix=False, stemming=True)
    batch_size = 500

    def __init__(self, pool: GuardedPool) -> None:
        self._pool = pool

    def required(self) -> Required:
        return postgres.required(self._pool)

    async def upsert_tweets(self, docs: Sequence[TweetDoc]) -> None:
        if not docs:
            return
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                """
                INSERT INTO search.tweets AS t (tweet_id, author_id, content, hashtags,
                                                mention_ids, created_at, revision)
                SELECT %s, %s, %s, %s, %s, %s, %s
                WHERE NOT EXISTS (SELECT 1 FROM search.deleted_tweets WHERE tweet_id = %s)
                ON CONFLICT (tweet_id) DO UPDATE SET
                    content = excluded.content, hashtags = excluded.hashtags,
                    mention_ids = excluded.mention_ids, revision = excluded.revision
                WHERE t.revision <= excluded.revision
                """,
                [(d.tweet_id, d.author_id, d.content, list(d.hashtags), list(d.mention_ids),
                  d.created_at, d.revision, d.tweet_id) for d in docs],
            )

    async def delete_tweets(self, tweet_ids: Sequence[int]) -> None:
        if not tweet_ids:
            return
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO search.deleted_tweets (tweet_id) SELECT unnest(%s::bigint[])"
                " ON CONFLICT DO NOTHING", (list(tweet_ids),))
            await conn.execute("DELETE FROM search.tweets WHERE tweet_id = ANY(%s)",
                               (list(tweet_ids),))

    async def set_engagement(self, counts: Mapping[int, Engagement]) -> None:
        if not counts:
            return
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "UPDATE search.tweets SET like_count = coalesce(%s, like_count),"
                " retweet_count = coalesce(%s, retweet_count) WHERE tweet_id = %s",
                [(e.like_count, e.retweet_count, tweet_id) for tweet_id, e in counts.items()],
            )

    async def upsert_users(self, docs: Sequence[UserDoc]) -> None:
        if not docs:
            return
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                """
                INSERT INTO search.users (user_id, username, display_name, bio,
                                          profile_picture_url)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (user_id) DO UPDATE SET username = excluded.username,
                    display_name = excluded.display_name, bio = excluded.bio,
                    profile_picture_url = excluded.profile_picture_url
                """,
                [(d.user_id, d.username, d.display_name, d.bio, d.profile_picture_url)
                 for d in docs],
            )

    async def set_follower_counts(self, counts: Mapping[int, int]) -> None:
        if not counts:
            return
        async with self._pool.connection() as conn, conn.cursor() as cur:
            await cur.executemany(
                "UPDATE search.users SET follower_count = %s WHERE user_id = %s",
                [(count, user_id) for user_id, count in counts.items()])

    async def search_tweets(self, query: TweetFilter, cursor: str | None,
                            limit: int) -> tuple[list[int], str | None]:
        state = _decode(cursor)
        as_of = datetime.fromisoformat(state["as_of"]) if state else datetime.now(UTC)
        params: dict[str, Any] = {
            "has_text": bool(query.text.strip()), "text": query.text,
            "hashtags": list(query.hashtags), "mentions": list(query.mention_ids),
            "authors": list(query.author_ids), "as_of": as_of, "recency": RECENCY_SECONDS,
            "first": state is None, "after_score": state["score"] if state else 0.0,
            "after_id": state["id"] if state else 0, "limit": limit + 1,
            "candidates": CANDIDATES,
        }
        async with self._pool.connection() as conn:
            rows = await (await conn.execute(_SEARCH_TWEETS, params)).fetchall()
        page = rows[:limit]
        next_cursor = _encode({"as_of": as_of.isoformat(), "score": page[-1][1],
                               "id": page[-1][0]}) if len(rows) > limit else None
        return [r[0] for r in page], next_cursor

    async def search_users(self, q: str, cursor: str | None,
                           limit: int) -> tuple[list[UserDoc], str | None]:
        state = _decode(cursor)
        needle = q.strip().lower().lstrip("@")
        params = {"q": needle, "prefix": _like_prefix(needle), "first": state is None,
                  "after_score": state["score"] if state else 0.0,
                  "after_id": state["id"] if state else 0, "limit": limit + 1}
        async with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_SEARCH_USERS, params)
            rows = await cur.fetchall()
        page = rows[:limit]
        users = [UserDoc(r["user_id"], r["username"], r["display_name"], r["bio"],
                         r["profile_picture_url"], r["follower_count"]) for r in page]
        next_cursor = _encode({"score": page[-1]["score"], "id": page[-1]["user_id"]}) \
            if len(rows) > limit else None
        return users, next_cursor

    async def rebuild(self) -> Rebuild:
        rebuild = PostgresRebuild(self._pool)
        await rebuild.start()
        return rebuild

    async def close(self) -> None:
        await self._pool.close()


def _encode(state: dict[str, Any]) -> str:
    return json.dumps(state, separators=(",", ":"))


def _decode(cursor: str | None) -> dict[str, Any] | None:
    return json.loads(cursor) if cursor else None
