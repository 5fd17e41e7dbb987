"""CQL of bookmarks (tables in migrations/cql/0004_quotes_bookmarks.cql).

`bookmark_of` decides, by lightweight transactions only (insert if not
exists, delete if unchanged), whether a user bookmarks a tweet and under which
bookmark id; `bookmarks` lists them by that id, newest first. A list row is
written at its bookmark id's time and deleted one microsecond later, so a late
rewrite of a removed bookmark's row never brings it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from cassandra.query import PreparedStatement

from services.shared.stores.cassandra import Cql, applied
from services.tweets.repository import write_time


@dataclass(frozen=True)
class BookmarkRow:
    bookmark_id: int
    tweet_id: int


class BookmarkStore:
    """Queries; create with `await BookmarkStore.open(cql)`."""

    def __init__(self, cql: Cql, statements: dict[str, PreparedStatement]) -> None:
        self._cql = cql
        self._s = statements

    @classmethod
    async def open(cls, cql: Cql) -> BookmarkStore:
        queries = {
            "claim": "INSERT INTO bookmark_of (user_id, tweet_id, bookmark_id) VALUES (?, ?, ?)"
                     " IF NOT EXISTS",
            "release": "DELETE FROM bookmark_of WHERE user_id = ? AND tweet_id = ?"
                       " IF bookmark_id = ?",
            "current": "SELECT bookmark_id FROM bookmark_of WHERE user_id = ? AND tweet_id = ?",
            "current_of": "SELECT tweet_id, bookmark_id FROM bookmark_of"
                          " WHERE user_id = ? AND tweet_id IN ?",
            "list_row": "INSERT INTO bookmarks (user_id, bookmark_id, tweet_id) VALUES (?, ?, ?)"
                        " USING TIMESTAMP ?",
            "unlist_row": "DELETE FROM bookmarks USING TIMESTAMP ?"
                          " WHERE user_id = ? AND bookmark_id = ?",
            "page": "SELECT bookmark_id, tweet_id FROM bookmarks"
                    " WHERE user_id = ? AND bookmark_id < ? LIMIT ?",
        }
        return cls(cql, {name: await cql.prepare(q) for name, q in queries.items()})

    async def claim(self, user_id: int, tweet_id: int, bookmark_id: int) -> int:
        """The user's bookmark id for the tweet: this one if it is new, else the
        one that stands."""
        rows = await self._cql.execute(self._s["claim"], (user_id, tweet_id, bookmark_id))
        return bookmark_id if applied(rows) else int(rows[0]["bookmark_id"])

    async def current(self, user_id: int, tweet_id: int) -> int | None:
        rows = await self._cql.execute(self._s["current"], (user_id, tweet_id), serial=True)
        return int(rows[0]["bookmark_id"]) if rows else None

    async def current_of(self, user_id: int, tweet_ids: list[int]) -> dict[int, int]:
        """The standing bookmark id of each of these tweets the user bookmarks."""
        if not tweet_ids:
            return {}
        rows = await self._cql.execute(self._s["current_of"], (user_id, tweet_ids))
        return {r["tweet_id"]: r["bookmark_id"] for r in rows}

    async def release(self, user_id: int, tweet_id: int, bookmark_id: int) -> bool:
        """Removes the decision if it still names this bookmark."""
        return applied(await self._cql.execute(self._s["release"],
                                               (user_id, tweet_id, bookmark_id)))

    async def list_row(self, user_id: int, row: BookmarkRow) -> None:
        await self._cql.execute(self._s["list_row"], (
            user_id, row.bookmark_id, row.tweet_id, write_time(row.bookmark_id)))

    async def unlist_rows(self, user_id: int, bookmark_ids: list[int]) -> None:
        await self._cql.execute_many(
            (self._s["unlist_row"], (write_time(b) + 1, user_id, b)) for b in bookmark_ids)

    async def page(self, user_id: int, before: int, limit: int) -> list[BookmarkRow]:
        rows = await self._cql.execute(self._s["page"], (user_id, before, limit))
        return [BookmarkRow(r["bookmark_id"], r["tweet_id"]) for r in rows]
