"""CQL of the tweets service: every statement prepared once, rows mapped to
domain records. The schema and the row kinds of the `tweets` partition are
described in migrations/cql/0001_tweets.cql.

Writes to a tweet partition are all lightweight transactions (conditional
statements or batches), so Paxos ballots alone order them; the derived tables
(user_tweets, tweet_likers, user_likes) take explicit write timestamps computed
from the ids of the rows they index, so replays converge (see followups.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from cassandra.query import PreparedStatement

from services.shared.cassandra import Cql, Params, Row, applied, batch
from services.shared.ids import id_time
from services.tweets.domain import Kind, LikeRecord, Mention, Revision, TweetRecord


class RowKind(IntEnum):
    REVISION = 0
    LIKE = 1
    RETWEET = 2
    REPLY = 3
    EVENT = 9


class Count(IntEnum):
    LIKES = 0
    RETWEETS = 1
    REPLIES = 2


COUNT_COLUMNS = {Count.LIKES: "like_count", Count.RETWEETS: "retweet_count",
                 Count.REPLIES: "reply_count"}
_STATIC = ("tweet_id, user_id, tweet_kind, reply_to, retweet_of, media_ids, created_at,"
           " edited_at, revision, deleted, like_count, retweet_count, reply_count")
_REVISION = "member, content, hashtags, mention_ids, mention_names, urls, revised_at"
_VERSION_OF = ("user_id", "revision", "deleted", "like_count", "retweet_count", "reply_count")
_VERSION = ", ".join(f"writetime({c}) AS w_{c}" for c in _VERSION_OF)
_TWEET_COLUMNS = ("tweet_id, kind, member, user_id, tweet_kind, reply_to, retweet_of, media_ids,"
                  " created_at, revision, like_count, retweet_count, reply_count, content,"
                  " hashtags, mention_ids, mention_names, urls, revised_at")


@dataclass(frozen=True)
class Edge:
    member: int
    ref_id: int
    at: datetime | None
    removed: bool


@dataclass(frozen=True)
class StoredEvents:
    subjects: list[str]
    payloads: list[bytes]
    traces: str  # JSON list of each event's trace headers
    followups: str
    fenced: bool


def write_time(snowflake: int) -> int:
    """The write timestamp (microseconds) of a derived row keyed by this id."""
    return int(id_time(snowflake).timestamp() * 1_000_000)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _revision(row: Row) -> Revision:
    names = row["mention_names"] or []
    return Revision(
        revision=row["member"], content=row["content"] or "", hashtags=list(row["hashtags"] or []),
        mentions=[Mention(i, n) for i, n in zip(row["mention_ids"] or [], names, strict=True)],
        urls=list(row["urls"] or []), created_at=_utc(row["revised_at"]) or id_time(0),
    )


def _tweet(row: Row) -> TweetRecord:
    created = _utc(row["created_at"])
    assert created is not None
    return TweetRecord(
        tweet_id=row["tweet_id"], user_id=row["user_id"], kind=Kind(row["tweet_kind"]),
        current=_revision(row), media_ids=list(row["media_ids"] or []), created_at=created,
        edited_at=_utc(row["edited_at"]), like_count=row["like_count"] or 0,
        retweet_count=row["retweet_count"] or 0, reply_count=row["reply_count"] or 0,
        reply_to=row["reply_to"] or 0, retweet_of=row["retweet_of"] or 0,
        deleted=bool(row["deleted"]),
    )


class TweetStore:
    """Queries; create with `await TweetStore.open(cql)`."""

    def __init__(self, cql: Cql, statements: dict[str, PreparedStatement]) -> None:
        self.cql = cql
        self._s = statements

    @classmethod
    async def open(cls, cql: Cql) -> TweetStore:
        queries = {
            "get": f"SELECT {_STATIC}, {_REVISION} FROM tweets"
                   " WHERE tweet_id = ? AND kind = 0 LIMIT 1",
            # The same, with the newest write time of the tweet's mutable columns:
            # the version the tweet cache orders entries by.
            "get_versioned": f"SELECT {_STATIC}, {_REVISION}, {_VERSION} FROM tweets"
                             " WHERE tweet_id = ? AND kind = 0 LIMIT 1",
            "user_likes_all": "SELECT tweet_id FROM user_likes WHERE user_id = ?",
            "user_retweets_all": "SELECT retweet_of FROM user_tweets WHERE user_id = ?"
                                 " AND kind = 3 ALLOW FILTERING",
            "edge": "SELECT member, ref_id, edge_at, removed FROM tweets"
                    " WHERE tweet_id = ? AND kind = ? AND member = ?",
            "viewer": "SELECT kind FROM tweets WHERE tweet_id = ? AND kind IN (1, 2)"
                      " AND member = ?",
            "event": "SELECT event_subjects, event_payloads, event_traces, followups, fenced"
                     " FROM tweets"
                     " WHERE tweet_id = ? AND kind = 9 AND member = ?",
            "revisions": f"SELECT {_REVISION} FROM tweets"
                         " WHERE tweet_id = ? AND kind = 0 AND member < ? LIMIT ?",
            "replies": "SELECT member, removed FROM tweets"
                       " WHERE tweet_id = ? AND kind = 3 AND member < ? LIMIT ?",
            "user_tweets": "SELECT tweet_id, kind, retweet_of FROM user_tweets"
                           " WHERE user_id = ? AND tweet_id < ? AND tweet_id >= ? LIMIT ?",
            "likers": "SELECT like_id, user_id FROM tweet_likers"
                      " WHERE tweet_id = ? AND like_id < ? LIMIT ?",
            # Tweet partition writes (only ever inside lightweight transactions).
            "insert_tweet": f"INSERT INTO tweets ({_TWEET_COLUMNS})"
                            f" VALUES (?, 0, 1, {', '.join('?' * 16)})",
            "insert_tweet_if_new": f"INSERT INTO tweets ({_TWEET_COLUMNS})"
                                   f" VALUES (?, 0, 1, {', '.join('?' * 16)}) IF NOT EXISTS",
            "insert_event": "INSERT INTO tweets (tweet_id, kind, member, event_subjects,"
                            " event_payloads, event_traces, followups)"
                            " VALUES (?, 9, ?, ?, ?, ?, ?)"
                            " IF NOT EXISTS USING TTL ?",
            "fence": "INSERT INTO tweets (tweet_id, kind, member, fenced) VALUES (?, 9, ?, true)"
                     " IF NOT EXISTS USING TTL ?",
            "set_revision": "UPDATE tweets SET revision = ?, edited_at = ? WHERE tweet_id = ?"
                            " IF revision = ? AND deleted = null",
            "insert_revision": "INSERT INTO tweets (tweet_id, kind, member, content, hashtags,"
                               " mention_ids, mention_names, urls, revised_at)"
                               " VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?)",
            "mark_deleted": "UPDATE tweets SET deleted = true WHERE tweet_id = ?"
                            " IF deleted = null",
            "insert_edge": "INSERT INTO tweets (tweet_id, kind, member, ref_id, edge_at, removed)"
                           " VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS",
            "delete_edge": "DELETE FROM tweets WHERE tweet_id = ? AND kind = ? AND member = ?"
                           " IF ref_id = ?",
            "remove_reply_edge": "UPDATE tweets SET removed = true"
                                 " WHERE tweet_id = ? AND kind = 3 AND member = ?"
                                 " IF removed = false",
            # Derived tables: idempotent writes at timestamps derived from ids.
            "index": "INSERT INTO user_tweets (user_id, tweet_id, kind, retweet_of)"
                     " VALUES (?, ?, ?, ?) USING TIMESTAMP ?",
            "unindex": "DELETE FROM user_tweets USING TIMESTAMP ?"
                       " WHERE user_id = ? AND tweet_id = ?",
            "add_liker": "INSERT INTO tweet_likers (tweet_id, like_id, user_id) VALUES (?, ?, ?)"
                         " USING TIMESTAMP ?",
            "remove_liker": "DELETE FROM tweet_likers USING TIMESTAMP ?"
                            " WHERE tweet_id = ? AND like_id = ?",
            "add_user_like": "INSERT INTO user_likes (user_id, like_id, tweet_id) VALUES (?, ?, ?)"
                             " USING TIMESTAMP ?",
            "remove_user_like": "DELETE FROM user_likes USING TIMESTAMP ?"
                                " WHERE user_id = ? AND like_id = ?",
        }
        for count, column in COUNT_COLUMNS.items():
            # Replies are counted on deleted parents too (a reply may outlive its parent).
            alive = "" if count is Count.REPLIES else " AND deleted = null"
            queries[f"count_{count.value}"] = (
                f"UPDATE tweets SET {column} = ? WHERE tweet_id = ? IF {column} = ?{alive}")
        statements = {name: await cql.prepare(q) for name, q in queries.items()}
        return cls(cql, statements)

    def statement(self, name: str, params: Params) -> tuple[PreparedStatement, Params]:
        return self._s[name], params

    # Reads -------------------------------------------------------------------------

    async def get(self, tweet_id: int, *, serial: bool = False) -> TweetRecord | None:
        rows = await self.cql.execute(self._s["get"], (tweet_id,), serial=serial)
        if not rows or rows[0]["user_id"] is None:
            return None
        return _tweet(rows[0])

    async def get_many(self, tweet_ids: list[int]) -> dict[int, TweetRecord]:
        results = await self.cql.execute_many((self._s["get"], (t,)) for t in tweet_ids)
        found = (_tweet(r[0]) for r in results if r and r[0]["user_id"] is not None)
        return {t.tweet_id: t for t in found}

    async def get_versioned(self, tweet_ids: list[int]) -> dict[int, tuple[TweetRecord, int]]:
        """Tweets with their versions: the newest write time (microseconds) of any
        column a change touches. Every change is a Paxos round, and ballots of one
        partition only grow, so a later change always has a higher version."""
        results = await self.cql.execute_many((self._s["get_versioned"], (t,))
                                              for t in tweet_ids)
        found: dict[int, tuple[TweetRecord, int]] = {}
        for rows in results:
            if rows and rows[0]["user_id"] is not None:
                row = rows[0]
                version = max(row[f"w_{c}"] or 0 for c in _VERSION_OF)
                found[row["tweet_id"]] = (_tweet(row), version)
        return found

    async def engaged_by(self, user_id: int) -> tuple[list[int], list[int]]:
        """Every tweet the user likes, and every original they retweeted."""
        likes, retweets = await self.cql.execute_many([
            (self._s["user_likes_all"], (user_id,)), (self._s["user_retweets_all"], (user_id,))])
        return [r["tweet_id"] for r in likes], [r["retweet_of"] for r in retweets]

    async def edge(self, tweet_id: int, kind: RowKind, member: int, *,
                   serial: bool = False) -> Edge | None:
        rows = await self.cql.execute(self._s["edge"], (tweet_id, int(kind), member),
                                      serial=serial)
        if not rows:
            return None
        row = rows[0]
        return Edge(row["member"], row["ref_id"] or 0, _utc(row["edge_at"]),
                    bool(row["removed"]))

    async def viewer_flags(self, tweet_ids: list[int], viewer: int) -> tuple[set[int], set[int]]:
        """Which of these tweets the viewer likes, and which they retweeted."""
        ids = list(dict.fromkeys(tweet_ids))
        results = await self.cql.execute_many((self._s["viewer"], (t, viewer)) for t in ids)
        liked = {t for t, rows in zip(ids, results, strict=True)
                 if any(r["kind"] == RowKind.LIKE for r in rows)}
        retweeted = {t for t, rows in zip(ids, results, strict=True)
                     if any(r["kind"] == RowKind.RETWEET for r in rows)}
        return liked, retweeted

    async def stored_events(self, tweet_id: int, op_id: int) -> StoredEvents | None:
        rows = await self.cql.execute(self._s["event"], (tweet_id, op_id), serial=True)
        return _stored(rows[0]) if rows else None

    async def revisions(self, tweet_id: int, before: int, limit: int) -> list[Revision]:
        rows = await self.cql.execute(self._s["revisions"], (tweet_id, before, limit))
        return [_revision(r) for r in rows]

    async def replies(self, tweet_id: int, before: int, limit: int) -> list[tuple[int, bool]]:
        """(reply id, removed) newest first; removed ones are deleted replies."""
        rows = await self.cql.execute(self._s["replies"], (tweet_id, before, limit))
        return [(r["member"], bool(r["removed"])) for r in rows]

    async def user_tweets(self, user_id: int, before: int, since: int,
                          limit: int) -> list[Row]:
        return await self.cql.execute(self._s["user_tweets"], (user_id, before, since, limit))

    async def likers(self, tweet_id: int, before: int, limit: int) -> list[LikeRecord]:
        rows = await self.cql.execute(self._s["likers"], (tweet_id, before, limit))
        return [LikeRecord(r["user_id"], r["like_id"]) for r in rows]

    # Writes -----------------------------------------------------------------------

    def tweet_values(self, tweet: TweetRecord) -> tuple[Any, ...]:
        rev = tweet.current
        return (tweet.tweet_id, tweet.user_id, int(tweet.kind), tweet.reply_to,
                tweet.retweet_of, tweet.media_ids, tweet.created_at, rev.revision,
                tweet.like_count, tweet.retweet_count, tweet.reply_count, rev.content,
                rev.hashtags, [m.user_id for m in rev.mentions],
                [m.username for m in rev.mentions], rev.urls, rev.created_at)

    def revision_values(self, tweet_id: int, rev: Revision) -> tuple[Any, ...]:
        return (tweet_id, rev.revision, rev.content, rev.hashtags,
                [m.user_id for m in rev.mentions], [m.username for m in rev.mentions],
                rev.urls, rev.created_at)

    def set_count(self, count: Count, tweet_id: int, old: int,
                  new: int) -> tuple[PreparedStatement, Params]:
        return self._s[f"count_{count.value}"], (new, tweet_id, old)

    async def conditional(self, *statements: tuple[PreparedStatement, Params]) -> tuple[
            bool, list[Row]]:
        """One lightweight transaction (a batch when there are several statements)."""
        if len(statements) == 1:
            rows = await self.cql.execute(*statements[0])
        else:
            rows = await self.cql.execute(batch(*statements))
        return applied(rows), rows

    async def plain(self, name: str, params: Params) -> None:
        await self.cql.execute(self._s[name], params)


def stored_from_row(row: Row) -> StoredEvents:
    return _stored(row)


def _stored(row: Row) -> StoredEvents:
    return StoredEvents(list(row.get("event_subjects") or []),
                        [bytes(p) for p in row.get("event_payloads") or []],
                        row.get("event_traces") or "[]", row.get("followups") or "[]",
                        bool(row.get("fenced")))
