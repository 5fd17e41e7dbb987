"""In memory: the tweets service's Cassandra store (services/tweets/repository.py
TweetStore) and the ports around the Tweets service layer.

The store runs the statements the service builds by name, with the semantics
the CQL gives them where the service relies on them: lightweight transactions
(IF revision = ?, IF deleted = null, IF NOT EXISTS) decided all or nothing per
batch, the rows a lost one returns, and write timestamps for the create, its
fence and the follow-up index rows (a fence deletes the partition at the
create's timestamp, so a create landing late stays invisible)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from cassandra.query import PreparedStatement
from twitter.tweets.v1 import cache_pb2, tweets_pb2

from services.shared.errors import NotFound, PermissionDenied
from services.shared.stores.cassandra import Params, Row
from services.tweets.client.tweet_cache import Queue, Rider
from services.tweets.client.viewer_flags import ViewerFlags
from services.tweets.domain import Author, Kind, LikeRecord, Mention, Revision, TweetRecord
from services.tweets.engagement import Engaged, Engagement
from services.tweets.followups import FollowUps, Op, Statement, Step
from services.tweets.media import MediaClient
from services.tweets.polls.views import definition_pb
from services.tweets.polls.votes import PollVotes
from services.tweets.reads import TWEET_NOT_FOUND, CachedReads
from services.tweets.repository import (
    NO_PAIR,
    Pair,
    RowKind,
    StoredEvents,
    Tally,
    TweetStore,
    write_time,
)
from services.tweets.users import UsersClient


def _lww(table: dict[tuple[int, int], tuple[int, int | None]], key: tuple[int, int], ts: int,
         value: int | None) -> None:
    """A row written (value) or deleted (None) at `ts`: the later write wins, a delete a tie."""
    old = table.get(key)
    if old is None or ts > old[0] or (ts == old[0] and value is None):
        table[key] = (ts, value)


def _values(statement: Statement) -> tuple[Any, ...]:
    return tuple(cast(tuple[Any, ...], statement[1]))


def _named(name: str, params: Params) -> Statement:
    # The fake's statements are their names: nothing is prepared.
    return cast(PreparedStatement, name), params


@dataclass
class PairRow:
    """A like, retweet, reply or quote row: cells last-write-wins by timestamp,
    `refs` a set whose elements carry their own write times."""

    ref_id: int = 0
    removed: bool = False
    written: int = -1
    counted: bool = False
    refs: dict[int, int] = field(default_factory=dict)  # ref -> its write time

    def as_pair(self, member: int) -> Pair:
        return Pair(member, self.ref_id, alive=not self.removed, written=self.written,
                    counted=self.counted, refs=frozenset(self.refs))


@dataclass
class Partition:
    tweet: TweetRecord | None = None
    written: int = 0  # the create's write timestamp
    revisions: dict[int, Revision] = field(default_factory=dict)
    events: dict[int, Row] = field(default_factory=dict)  # member -> event or fence row
    edges: dict[tuple[int, int], PairRow] = field(default_factory=dict)  # (kind, member)
    # kind -> (count, version)
    counts: dict[int, tuple[int, int | None]] = field(default_factory=dict)
    deleted_at: int = -1  # a partition delete's timestamp (a fenced create)
    retired_at: int = -1  # a retweet's retirement


class FakeTweetStore(TweetStore):
    def __init__(self) -> None:  # no CQL session: partitions live below
        self.partitions: dict[int, Partition] = {}
        self.user_index: dict[tuple[int, int], tuple[int, Row | None]] = {}  # ts, row
        self.poll_ends: dict[int, int] = {}
        self.likers_rows: dict[tuple[int, int], tuple[int, int | None]] = {}  # ts, user
        self.user_likes: dict[tuple[int, int], tuple[int, int | None]] = {}  # ts, tweet
        self.lose_next_counts = 0  # recounts that lose their compare-and-set to another
        self.fail_writes = 0  # how many next plain writes raise (a timed-out batch)
        self.in_flight: list[list[Statement]] = []
        # Runs just before each lightweight transaction: a concurrent writer's turn.
        self.before_conditional: Callable[[], Awaitable[None]] | None = None
        self.conditionals = 0

    def land_in_flight(self) -> None:
        """The timed-out batches arrive after all (with their own timestamps)."""
        for statements in self.in_flight:
            for statement in statements:
                self._apply(statement)
        self.in_flight.clear()

    def part(self, tweet_id: int) -> Partition:
        return self.partitions.setdefault(tweet_id, Partition())

    # Statements ----------------------------------------------------------------

    def statement(self, name: str, params: Params) -> Statement:
        return _named(name, params)

    def insert_tweet(self, tweet: TweetRecord) -> Statement:
        return _named("insert_tweet", (tweet,))

    def set_poll(self, tweet: TweetRecord) -> Statement:
        return _named("set_poll", (tweet,))

    def set_pair(self, tweet_id: int, kind: RowKind, member: int, ref_id: int, *,
                 alive: bool, at: int) -> Statement:
        return _named("set_pair", (tweet_id, int(kind), member, ref_id, alive, at))

    def drop_refs(self, tweet_id: int, kind: RowKind, pair: Pair,
                  refs: set[int]) -> Statement:
        return _named("drop_refs", (tweet_id, int(kind), pair.member, set(refs), pair.written))

    async def write(self, statements: list[Statement]) -> None:
        if self.fail_writes:
            self.fail_writes -= 1
            self.in_flight.append(statements)  # may still land: see land_in_flight
            raise TimeoutError("the batch timed out")
        for statement in statements:
            self._apply(statement)

    async def conditional(self, *statements: Statement) -> tuple[bool, list[Row]]:
        if self.before_conditional is not None:
            await self.before_conditional()
        self.conditionals += 1
        rows = [row for s in statements if (row := self._refusal(s)) is not None]
        if rows:
            return False, rows
        for statement in statements:
            self._apply(statement)
        return True, []

    def _refusal(self, statement: Statement) -> Row | None:
        """The current row when this statement's condition fails, else None."""
        name, p = str(statement[0]), _values(statement)
        if name == "set_revision":
            tweet = self.part(p[2]).tweet
            if tweet is None or tweet.deleted or tweet.current.revision != p[3]:
                return {"kind": RowKind.REVISION, "member": 0,
                        "revision": tweet.current.revision if tweet else None}
        elif name == "mark_deleted":
            tweet = self.part(p[0]).tweet
            if tweet is None or tweet.deleted:
                return {"kind": RowKind.REVISION, "member": 0, "deleted": True}
        elif name in ("insert_event_if_new", "fence"):
            found = self.part(p[0]).events.get(p[1])
            if found is not None:
                return dict(found)
        return None

    def _apply(self, statement: Statement) -> None:
        name = str(statement[0])
        run = getattr(self, f"_run_{name}", None)
        if run is None:
            raise AssertionError(f"the fake store cannot run {name}")
        run(*_values(statement))

    def _run_insert_tweet(self, tweet: TweetRecord) -> None:
        part = self.part(tweet.tweet_id)
        if write_time(tweet.tweet_id) > part.deleted_at:
            if part.retired_at >= write_time(tweet.tweet_id):
                tweet = replace(tweet, deleted=True)  # a late replay of a retired retweet
            part.tweet, part.written = tweet, write_time(tweet.tweet_id)
            part.revisions[1] = tweet.current

    def _run_set_poll(self, tweet: TweetRecord) -> None:
        part = self.part(tweet.tweet_id)
        if part.tweet is not None:
            part.tweet = replace(part.tweet, poll=tweet.poll)

    def _event(self, tweet_id: int, member: int, subjects: list[str], payloads: list[bytes],
               traces: str, followups: str) -> None:
        self.part(tweet_id).events[member] = {
            "kind": RowKind.EVENT, "member": member, "event_subjects": subjects,
            "event_payloads": payloads, "event_traces": traces, "followups": followups,
            "fenced": False}

    def _run_insert_event(self, tweet_id: int, member: int, subjects: list[str],
                          payloads: list[bytes], traces: str, followups: str, _ttl: int,
                          ts: int) -> None:
        if ts > self.part(tweet_id).deleted_at:
            self._event(tweet_id, member, subjects, payloads, traces, followups)

    def _run_insert_event_if_new(self, tweet_id: int, member: int, subjects: list[str],
                                 payloads: list[bytes], traces: str, followups: str,
                                 _ttl: int) -> None:
        self._event(tweet_id, member, subjects, payloads, traces, followups)

    def _run_fence(self, tweet_id: int, member: int, _ttl: int) -> None:
        self.part(tweet_id).events[member] = {"kind": RowKind.EVENT, "member": member,
                                              "fenced": True}

    def _run_fence_create(self, ts: int, tweet_id: int) -> None:
        part = self.part(tweet_id)
        part.deleted_at = max(part.deleted_at, ts)
        if part.written <= ts:
            part.tweet, part.revisions = None, {}
        part.events.pop(tweet_id, None)

    def _run_set_revision(self, _number: int, edited_at: datetime, tweet_id: int,
                          _expected: int) -> None:
        part = self.part(tweet_id)
        assert part.tweet is not None
        part.tweet = replace(part.tweet, edited_at=edited_at)  # its revision row follows

    def _run_insert_revision(self, tweet_id: int, number: int, content: str,
                             hashtags: list[str], mention_ids: list[int], names: list[str],
                             urls: list[str], at: datetime) -> None:
        part = self.part(tweet_id)
        rev = Revision(number, content, list(hashtags),
                       [Mention(i, n) for i, n in zip(mention_ids, names, strict=True)],
                       list(urls), at)
        part.revisions[number] = rev
        if part.tweet is not None and part.tweet.current.revision < number:
            part.tweet = replace(part.tweet, current=rev)

    def _run_mark_deleted(self, tweet_id: int) -> None:
        part = self.part(tweet_id)
        assert part.tweet is not None
        part.tweet = replace(part.tweet, deleted=True)

    def _run_set_pair(self, tweet_id: int, kind: int, member: int, ref_id: int, alive: bool,
                      at: int) -> None:
        row = self.part(tweet_id).edges.setdefault((kind, member), PairRow())
        if at > row.written:
            row.ref_id, row.removed, row.written = ref_id, not alive, at
        if alive and ref_id:
            row.refs[ref_id] = max(row.refs.get(ref_id, -1), at)

    def _run_drop_refs(self, tweet_id: int, kind: int, member: int, refs: set[int],
                       at: int) -> None:
        row = self.part(tweet_id).edges.get((kind, member))
        if row is not None:
            row.refs = {r: t for r, t in row.refs.items() if r not in refs or t > at}

    def _run_add_liker(self, tweet_id: int, like_id: int, user: int, ts: int) -> None:
        _lww(self.likers_rows, (tweet_id, like_id), ts, user)

    def _run_remove_liker(self, ts: int, tweet_id: int, like_id: int) -> None:
        _lww(self.likers_rows, (tweet_id, like_id), ts, None)

    def _run_add_user_like(self, user: int, like_id: int, tweet_id: int, ts: int) -> None:
        _lww(self.user_likes, (user, like_id), ts, tweet_id)

    def _run_remove_user_like(self, ts: int, user: int, like_id: int) -> None:
        _lww(self.user_likes, (user, like_id), ts, None)

    def _run_retire(self, ts: int, tweet_id: int) -> None:
        part = self.part(tweet_id)
        part.retired_at = max(part.retired_at, ts)
        if part.tweet is not None:
            part.tweet = replace(part.tweet, deleted=True)

    def _run_index(self, user: int, tweet: int, kind: int, original: int, ts: int) -> None:
        self._index((user, tweet), ts, {"tweet_id": tweet, "kind": kind,
                                        "retweet_of": original})

    def _run_unindex(self, ts: int, user: int, tweet: int) -> None:
        self._index((user, tweet), ts, None)

    def _run_schedule_poll_end(self, tweet_id: int, ends_ms: int) -> None:
        self.poll_ends[tweet_id] = ends_ms

    def _run_unschedule_poll_end(self, tweet_id: int, _ends_ms: int) -> None:
        self.poll_ends.pop(tweet_id, None)

    def _index(self, key: tuple[int, int], ts: int, row: Row | None) -> None:
        old = self.user_index.get(key)
        if old is None or ts > old[0] or (ts == old[0] and row is None):
            self.user_index[key] = (ts, row)

    # Reads ---------------------------------------------------------------------

    async def get(self, tweet_id: int, *, serial: bool = False) -> TweetRecord | None:
        part = self.partitions.get(tweet_id)
        if part is None or part.tweet is None:
            return None
        count = {k: c for k, (c, _) in part.counts.items()}
        return replace(part.tweet, like_count=count.get(RowKind.LIKE, 0),
                       retweet_count=count.get(RowKind.RETWEET, 0),
                       reply_count=count.get(RowKind.REPLY, 0),
                       quote_count=count.get(RowKind.QUOTE, 0))

    async def engaged(self, tweet_id: int, member: int) -> dict[RowKind, Pair]:
        edges = self.part(tweet_id).edges
        return {kind: edges[(kind, member)].as_pair(member) if (kind, member) in edges
                else NO_PAIR for kind in (RowKind.LIKE, RowKind.RETWEET)}

    async def tally(self, tweet_id: int, kind: RowKind, members: list[int]) -> Tally | None:
        part = self.part(tweet_id)
        pairs = {m: part.edges[(kind, m)].as_pair(m) for m in members
                 if (kind, m) in part.edges}
        if not pairs:
            return None
        count, version = part.counts.get(kind, (0, None))
        return Tally(count, version, pairs)

    async def commit_count(self, tweet_id: int, kind: RowKind, tally: Tally, count: int,
                           flips: list[Pair]) -> bool:
        part = self.part(tweet_id)
        if self.lose_next_counts:
            self.lose_next_counts -= 1
            return False
        if part.counts.get(kind, (0, None))[1] != tally.version:
            return False
        part.counts[kind] = (count, (tally.version or 0) + 1)
        for p in flips:
            part.edges[(kind, p.member)].counted = p.alive
        return True

    async def likers(self, tweet_id: int, before: int, limit: int) -> list[LikeRecord]:
        rows = sorted(((like, user) for (t, like), (_, user) in self.likers_rows.items()
                       if t == tweet_id and like < before and user is not None), reverse=True)
        return [LikeRecord(user, like) for like, user in rows[:limit]]

    async def get_many(self, tweet_ids: list[int]) -> dict[int, TweetRecord]:
        found = {t: await self.get(t) for t in tweet_ids}
        return {t: r for t, r in found.items() if r is not None}

    async def stored_events(self, tweet_id: int, op_id: int) -> StoredEvents | None:
        row = self.part(tweet_id).events.get(op_id)
        if row is None:
            return None
        return StoredEvents(list(row.get("event_subjects") or []),
                            [bytes(x) for x in row.get("event_payloads") or []],
                            row.get("event_traces") or "[]", row.get("followups") or "[]",
                            bool(row.get("fenced")))

    async def revisions(self, tweet_id: int, before: int, limit: int) -> list[Revision]:
        revs = self.part(tweet_id).revisions
        return [revs[n] for n in sorted((n for n in revs if n < before), reverse=True)][:limit]

    async def replies(self, tweet_id: int, before: int, limit: int) -> list[tuple[int, bool]]:
        edges = self.part(tweet_id).edges
        found = sorted(((m, row.removed) for (k, m), row in edges.items()
                        if k == RowKind.REPLY and m < before), reverse=True)
        return found[:limit]

    async def user_tweets(self, user_id: int, before: int, since: int,
                          limit: int) -> list[Row]:
        rows = [row for (user, tweet), (_, row) in self.user_index.items()
                if user == user_id and since <= tweet < before and row is not None]
        return sorted(rows, key=lambda r: -int(r["tweet_id"]))[:limit]


class FakeFollowUps(FollowUps):
    """The real statements (run by the fake store); counts are not recounted here
    (counts.py has its own tests), the steps run are recorded."""

    def __init__(self, store: FakeTweetStore) -> None:
        self._store = store
        self.ran: list[Step] = []

    async def run(self, steps: list[Step], *, written: bool = False,
                  tell_indexed: bool = True) -> None:
        if not written:
            await self._store.write(self.statements(steps))
        self.ran += steps

    def _statement(self, step: Step) -> Statement:
        if step["op"] == Op.SCHEDULE_POLL_END:
            return _named("schedule_poll_end", (step["tweet"], step["ends"]))
        if step["op"] == Op.UNSCHEDULE_POLL_END:
            return _named("unschedule_poll_end", (step["tweet"], step["ends"]))
        return super()._statement(step)


class FakeReads(CachedReads):
    """What a reply, quote or like acts on, read straight from the fake store
    (the tweet cache is engineer B's to test); records cache refreshes."""

    def __init__(self, store: FakeTweetStore) -> None:
        self._store = store
        self.refreshed: list[int] = []
        self.filled: list[int] = []

    async def target(self, tweet_id: int) -> tuple[int, int]:
        for _ in range(2):
            tweet = await self._store.get(tweet_id) if tweet_id > 0 else None
            if tweet is None or tweet.deleted:
                break
            if tweet.kind is not Kind.RETWEET:
                return tweet_id, tweet.user_id
            tweet_id = tweet.retweet_of
        raise NotFound(TWEET_NOT_FOUND)

    async def entries(self, ids: Sequence[int], rider: Rider | None = None
                      ) -> dict[int, cache_pb2.CachedTweet]:
        """The stored tweets as cache entries: what a poll read needs of them."""
        found: dict[int, cache_pb2.CachedTweet] = {}
        for tweet_id in ids:
            tweet = await self._store.get(tweet_id)
            if tweet is None:
                continue
            view = tweets_pb2.Tweet(tweet_id=tweet_id, user_id=tweet.user_id)
            if tweet.poll is not None:
                view.poll.CopyFrom(definition_pb(tweet.poll))
            found[tweet_id] = cache_pb2.CachedTweet(tweet=view, deleted=tweet.deleted)
        return found

    async def created(self, tweet: TweetRecord, also: Queue | None = None) -> bool:
        self.filled.append(tweet.tweet_id)
        return True

    async def refresh(self, tweet_ids: Any) -> None:
        self.refreshed += list(tweet_ids)


class FakeTweetUsers(UsersClient):
    """The users service as the tweets service asks it: mentions and authors by name."""

    def __init__(self, **ids_by_name: int) -> None:
        self.ids = {n.lower(): i for n, i in ids_by_name.items()}

    async def authors(self, user_ids: set[int]) -> dict[int, Author]:
        names = {i: n for n, i in self.ids.items()}
        return {i: Author(i, names[i], names[i].title(), "") for i in user_ids if i in names}

    async def resolve_mentions(self, names: list[str]) -> list[Mention]:
        return [Mention(self.ids[n.lower()], n.lower()) for n in names if n.lower() in self.ids]


class FakeMedia(MediaClient):
    """Media owners; every listed media is READY."""

    def __init__(self, owners: dict[int, int] | None = None) -> None:
        self.owners = owners or {}

    async def check_attachable(self, author: int, media_ids: list[int]) -> None:
        for media_id in media_ids:
            if media_id not in self.owners:
                raise NotFound(f"media {media_id} not found")
            if self.owners[media_id] != author:
                raise PermissionDenied(f"media {media_id} belongs to another user")


class FakeEngagement(Engagement):
    """Records unretweets (engagement has its own tests)."""

    def __init__(self) -> None:
        self.unretweeted: list[tuple[int, int]] = []

    async def unretweet(self, caller: int, tweet_id: int) -> Engaged:
        self.unretweeted.append((caller, tweet_id))
        return Engaged(tweet_id, (set(), set()))


class FakeViewerFlags(ViewerFlags):
    """The viewer's like and retweet flags as recorded after each change: the
    newest write time wins, as in the Redis script."""

    def __init__(self) -> None:  # no Redis
        self.flags: dict[tuple[int, str], tuple[int, bool]] = {}

    async def record(self, viewer: int, tweet_id: int, *, at: int, liked: bool | None = None,
                     retweeted: bool | None = None) -> None:
        for name, value in (("liked", liked), ("retweeted", retweeted)):
            old = self.flags.get((tweet_id, name))
            if value is not None and (old is None or at >= old[0]):
                self.flags[(tweet_id, name)] = (at, value)


class FakePollVotes(PollVotes):
    """Votes by (tweet, user): the first vote stands."""

    def __init__(self) -> None:  # no CQL session
        self.votes: dict[tuple[int, int], int] = {}

    async def vote(self, tweet_id: int, user_id: int, position: int, options: int) -> int:
        return self.votes.setdefault((tweet_id, user_id), position)

    async def vote_of(self, tweet_id: int, user_id: int, *, serial: bool = False) -> int:
        return self.votes.get((tweet_id, user_id), 0)

    async def counts(self, tweet_id: int, options: int) -> tuple[int, ...]:
        totals = [0] * options
        for (t, _), position in self.votes.items():
            if t == tweet_id:
                totals[position - 1] += 1
        return tuple(totals)
