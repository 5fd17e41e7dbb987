"""CQL of the tweets service: every statement prepared once, rows mapped to
domain records. The schema and the row kinds of the `tweets` partition are
described in migrations/cql/0001_tweets.cql.

Two kinds of writes, never to the same cells:
- Plain writes at explicit timestamps: a new tweet (its id is fresh, nothing can
  conflict), like/retweet/reply rows (one per user or reply, ordered by their
  timestamps; see pairs.py) and the derived tables (user_tweets, tweet_likers,
  user_likes), at timestamps computed from ids so replays converge.
- Lightweight transactions for what needs a decision: edits (revision), deletes,
  the fences and events of those changes, and counts (counts.py).
A new tweet's `revision = 1` is the one cell both touch: an edit's Paxos ballot
is later than the create as long as clocks agree within the time between them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from cassandra.query import PreparedStatement

from services.shared.snowflake.ids import id_time
from services.shared.stores.cassandra import Cql, Params, Row, applied, batch
from services.tweets.domain import Kind, LikeRecord, Mention, Revision, TweetRecord
from services.tweets.polls.rules import PollDefinition


class RowKind(IntEnum):
    REVISION = 0
    LIKE = 1
    RETWEET = 2
    REPLY = 3
    QUOTE = 4
    EVENT = 9


# The count each kind of row decides, and the version that orders its changes.
COUNTED = {RowKind.LIKE: ("like_count", "like_version"),
           RowKind.RETWEET: ("retweet_count", "retweet_version"),
           RowKind.REPLY: ("reply_count", "reply_version"),
           RowKind.QUOTE: ("quote_count", "quote_version")}
_STATIC = ("tweet_id, user_id, tweet_kind, reply_to, retweet_of, media_ids, created_at,"
           " edited_at, revision, deleted, like_count, retweet_count, reply_count, place,"
           " quoted_tweet_id, quote_count, poll_options, poll_ends_at")
_REVISION = "member, content, hashtags, mention_ids, mention_names, urls, revised_at"
_VERSION_OF = ("user_id", "revision", "deleted", "like_count", "retweet_count", "reply_count",
               "quote_count")
_VERSION = ", ".join(f"writetime({c}) AS w_{c}" for c in _VERSION_OF)
READ_PARTITIONS = 20  # tweets a multi-partition read asks for at most
# A new tweet: counts, versions and `deleted` stay null (0, alive) until a
# transaction sets them.
_TWEET_COLUMNS = ("tweet_id, kind, member, user_id, tweet_kind, reply_to, retweet_of, media_ids,"
                  " created_at, revision, content, hashtags, mention_ids, mention_names, urls,"
                  " revised_at, place, quoted_tweet_id")


@dataclass(frozen=True)
class Pair:
    """A like, retweet or reply row: `ref_id` is the like or retweet id, `written`
    the write time (microseconds) of its latest change, 0 when there is none."""

    member: int
    ref_id: int
    alive: bool
    written: int
    counted: bool = False
    refs: frozenset[int] = frozenset()  # every ref that may still have derived rows


NO_PAIR = Pair(0, 0, alive=False, written=0)


@dataclass(frozen=True)
class Tally:
    """What a recount reads: the stored count, its version, and the rows asked for."""

    count: int
    version: int | None
    pairs: dict[int, Pair]


def _pair(row: Row) -> Pair:
    return Pair(row["member"], row["ref_id"] or 0, alive=not row["removed"],
                written=row["written"] or 0, counted=bool(row.get("counted")),
                refs=frozenset(row.get("refs") or ()))


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


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    """The ids READ_PARTITIONS at a time: one multi-partition read each."""
    for first in range(0, len(ids), READ_PARTITIONS):
        yield ids[first:first + READ_PARTITIONS]


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
        deleted=bool(row["deleted"]), place=row["place"] or "",
        quoted_tweet_id=row["quoted_tweet_id"] or 0, quote_count=row["quote_count"] or 0,
        poll=_poll(row),
    )


def _poll(row: Row) -> PollDefinition | None:
    ends = _utc(row.get("poll_ends_at"))
    return PollDefinition(tuple(row["poll_options"]), ends) if ends and row.get(
        "poll_options") else None


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
                             " WHERE tweet_id IN ? AND kind = 0 PER PARTITION LIMIT 1",
            "user_likes_all": "SELECT tweet_id FROM user_likes WHERE user_id = ?",
            "user_retweets_all": "SELECT retweet_of FROM user_tweets WHERE user_id = ?"
                                 " AND kind = 3 ALLOW FILTERING",
            "engaged": "SELECT kind, member, ref_id, removed, writetime(removed) AS written, refs"
                       " FROM tweets WHERE tweet_id = ? AND kind IN (1, 2) AND member = ?",
            "viewer": "SELECT tweet_id, kind, removed FROM tweets WHERE tweet_id IN ?"
                      " AND kind IN (1, 2) AND member = ?",
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
            # Plain writes at explicit timestamps.
            "insert_tweet": f"INSERT INTO tweets ({_TWEET_COLUMNS})"
                            f" VALUES (?, 0, 1, {', '.join('?' * 15)}) USING TIMESTAMP ?",
            "insert_event": "INSERT INTO tweets (tweet_id, kind, member, event_subjects,"
                            " event_payloads, event_traces, followups)"
                            " VALUES (?, 9, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?",
            "set_pair": "UPDATE tweets USING TIMESTAMP ?"
                        " SET ref_id = ?, edge_at = ?, removed = ?, refs = refs + ?"
                        " WHERE tweet_id = ? AND kind = ? AND member = ?",
            "drop_refs": "UPDATE tweets USING TIMESTAMP ? SET refs = refs - ?"
                         " WHERE tweet_id = ? AND kind = ? AND member = ?",
            # A new tweet's poll: static cells written beside it, at its time.
            "set_poll": "UPDATE tweets USING TIMESTAMP ? SET poll_options = ?,"
                        " poll_ends_at = ? WHERE tweet_id = ?",
            "retire": "UPDATE tweets USING TIMESTAMP ? SET deleted = true WHERE tweet_id = ?",
            # Fences a create that never confirmed: nothing it wrote (at `ts`) survives.
            "fence_create": "DELETE FROM tweets USING TIMESTAMP ? WHERE tweet_id = ?",
            # Lightweight transactions.
            "insert_event_if_new": "INSERT INTO tweets (tweet_id, kind, member, event_subjects,"
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
            "mark_counted": "UPDATE tweets SET counted = ?"
                            " WHERE tweet_id = ? AND kind = ? AND member = ?",
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
        for kind, (count, version) in COUNTED.items():
            queries[f"tally_{kind.value}"] = (
                f"SELECT {count} AS count, {version} AS version, member, ref_id, removed,"
                " counted, writetime(removed) AS written, refs FROM tweets"
                " WHERE tweet_id = ? AND kind = ? AND member IN ?")
            queries[f"set_count_{kind.value}"] = (
                f"UPDATE tweets SET {count} = ?, {version} = ? WHERE tweet_id = ?"
                f" IF {version} = ?")
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
        ids = list(dict.fromkeys(tweet_ids))
        # A page's misses in one statement (IN on the partition key), not one
        # each: a fifth of the statements for a page of cold tweets, though
        # the node still reads every partition (docs/CAPACITY.md, fourth
        # pass). Chunks bound a read's fan-out from its coordinator.
        results = await self.cql.execute_many(
            (self._s["get_versioned"], (chunk,)) for chunk in _chunks(ids))
        found: dict[int, tuple[TweetRecord, int]] = {}
        for row in (row for rows in results for row in rows):
            if row["user_id"] is not None:
                version = max(row[f"w_{c}"] or 0 for c in _VERSION_OF)
                found[row["tweet_id"]] = (_tweet(row), version)
        return found

    async def engaged_by(self, user_id: int) -> tuple[list[int], list[int]]:
        """Every tweet the user likes, and every original they retweeted."""
        likes, retweets = await self.cql.execute_many([
            (self._s["user_likes_all"], (user_id,)), (self._s["user_retweets_all"], (user_id,))])
        return [r["tweet_id"] for r in likes], [r["retweet_of"] for r in retweets]

    async def engaged(self, tweet_id: int, member: int) -> dict[RowKind, Pair]:
        """The member's like and retweet rows of the tweet, in one read."""
        rows = await self.cql.execute(self._s["engaged"], (tweet_id, member))
        found = {RowKind(r["kind"]): _pair(r) for r in rows}
        return {kind: found.get(kind, NO_PAIR) for kind in (RowKind.LIKE, RowKind.RETWEET)}

    async def tally(self, tweet_id: int, kind: RowKind, members: list[int]) -> Tally | None:
        """The count of this kind with its version and these members' rows; None
        when none of the rows exists."""
        rows = await self.cql.execute(self._s[f"tally_{kind.value}"],
                                      (tweet_id, int(kind), members))
        if not rows:
            return None
        return Tally(rows[0]["count"] or 0, rows[0]["version"],
                     {r["member"]: _pair(r) for r in rows})

    async def commit_count(self, tweet_id: int, kind: RowKind, tally: Tally, count: int,
                           flips: list[Pair]) -> bool:
        """The new count and the rows' `counted` flags, if no other recount
        committed since `tally` was read."""
        version = (tally.version or 0) + 1
        ok, _ = await self.conditional(
            (self._s[f"set_count_{kind.value}"], (count, version, tweet_id, tally.version)),
            *((self._s["mark_counted"], (p.alive, tweet_id, int(kind), p.member))
              for p in flips))
        return ok

    async def viewer_flags(self, tweet_ids: list[int], viewer: int) -> tuple[set[int], set[int]]:
        """Which of these tweets the viewer likes, and which they retweeted."""
        ids = list(dict.fromkeys(tweet_ids))
        results = await self.cql.execute_many(
            (self._s["viewer"], (chunk, viewer)) for chunk in _chunks(ids))
        rows = [r for chunk in results for r in chunk if not r["removed"]]
        liked = {r["tweet_id"] for r in rows if r["kind"] == RowKind.LIKE}
        retweeted = {r["tweet_id"] for r in rows if r["kind"] == RowKind.RETWEET}
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

    def insert_tweet(self, tweet: TweetRecord) -> tuple[PreparedStatement, Params]:
        """A new tweet, written at the time of its id."""
        rev = tweet.current
        return self._s["insert_tweet"], (
            tweet.tweet_id, tweet.user_id, int(tweet.kind), tweet.reply_to, tweet.retweet_of,
            tweet.media_ids, tweet.created_at, rev.revision, rev.content, rev.hashtags,
            [m.user_id for m in rev.mentions], [m.username for m in rev.mentions], rev.urls,
            rev.created_at, tweet.place or None, tweet.quoted_tweet_id or None,
            write_time(tweet.tweet_id))

    def set_poll(self, tweet: TweetRecord) -> tuple[PreparedStatement, Params]:
        """A new tweet's poll, written at the time of its id with the tweet."""
        assert tweet.poll is not None
        return self._s["set_poll"], (write_time(tweet.tweet_id), list(tweet.poll.options),
                                     tweet.poll.ends_at, tweet.tweet_id)

    def set_pair(self, tweet_id: int, kind: RowKind, member: int, ref_id: int, *,
                 alive: bool, at: int) -> tuple[PreparedStatement, Params]:
        """The row's new state at time `at`; a like or retweet id it takes on joins `refs`."""
        refs = {ref_id} if alive and ref_id else set()
        return self._s["set_pair"], (at, ref_id, id_time(ref_id or member), not alive, refs,
                                     tweet_id, int(kind), member)

    def drop_refs(self, tweet_id: int, kind: RowKind, pair: Pair,
                  refs: set[int]) -> tuple[PreparedStatement, Params]:
        """Forgets refs whose derived rows are gone. At the row's own write time:
        every ref was added no later, and a removal wins a tie."""
        return self._s["drop_refs"], (pair.written, refs, tweet_id, int(kind), pair.member)

    def revision_values(self, tweet_id: int, rev: Revision) -> tuple[Any, ...]:
        return (tweet_id, rev.revision, rev.content, rev.hashtags,
                [m.user_id for m in rev.mentions], [m.username for m in rev.mentions],
                rev.urls, rev.created_at)

    async def conditional(self, *statements: tuple[PreparedStatement, Params]) -> tuple[
            bool, list[Row]]:
        """One lightweight transaction (a batch when there are several statements)."""
        if len(statements) == 1:
            rows = await self.cql.execute(*statements[0])
        else:
            rows = await self.cql.execute(batch(*statements))
        return applied(rows), rows

    async def write(self, statements: list[tuple[PreparedStatement, Params]]) -> None:
        """Plain writes in one round trip (an unlogged batch: each partition's part
        is atomic, the parts are not; every caller's writes are idempotent)."""
        if len(statements) == 1:
            await self.cql.execute(*statements[0])
        elif statements:
            await self.cql.execute(batch(*statements))


def stored_from_row(row: Row) -> StoredEvents:
    return _stored(row)


def _stored(row: Row) -> StoredEvents:
    return StoredEvents(list(row.get("event_subjects") or []),
                        [bytes(p) for p in row.get("event_payloads") or []],
                        row.get("event_traces") or "[]", row.get("followups") or "[]",
                        bool(row.get("fenced")))
