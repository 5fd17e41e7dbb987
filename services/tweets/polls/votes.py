"""Poll votes on ScyllaDB/Cassandra: one vote per user, counts exact under
concurrency and retries (table `poll_votes`, migrations/cql/0006_polls.cql).

A poll's votes are spread over BUCKETS partitions (tweet, voter mod BUCKETS).
Each holds its voters' rows and, in static columns, the count of each option
among them and a version. A vote is one conditional batch on its bucket:

    INSERT the voter's row IF NOT EXISTS
    UPDATE counts = <read counts + 1 for the option>, version = v + 1 IF version = v

Both conditions hold or nothing is written, so:
- a user votes once: their row exists after the first vote, and every later
  attempt (a retry, a second device, a concurrent request) fails its first
  condition and reads the vote that stands;
- a bucket's counts are always exactly its rows (no counter columns: a counter
  increment retried after a timeout may count twice);
- concurrent voters contend only within a bucket; a batch that lost the
  version race reads again and retries, and voters of one bucket in one
  process take turns on a lock rather than losing rounds to each other.

A batch that timed out may still land: a SERIAL read of the voter's row
settles it (the row exists: the vote counted, exactly once; it does not: no
later round can commit that ballot, so it is tried again).

Reading the results is one query over the poll's BUCKETS partitions (their
static counts) plus the viewer's row; the end-of-poll worker pages through the
voters bucket by bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

from cassandra import OperationTimedOut, WriteTimeout
from cassandra.query import PreparedStatement

from services.shared.concurrency.keyed_lock import KeyedLocks
from services.shared.errors import Unavailable
from services.shared.stores.cassandra import Cql, Row, applied, batch
from services.tweets.counts import backoff

BUCKETS = 16
MAX_ATTEMPTS = 40


@dataclass(frozen=True)
class BucketState:
    version: int | None  # None: no vote in the bucket yet
    counts: tuple[int, ...]


def bucket_of(user_id: int) -> int:
    return user_id % BUCKETS


class PollVotes:
    def __init__(self, cql: Cql, statements: dict[str, PreparedStatement]) -> None:
        self._cql = cql
        self._s = statements
        self._locks = KeyedLocks()

    @classmethod
    async def open(cls, cql: Cql) -> PollVotes:
        queries = {
            # The static cells come with the first row (alone when there is none).
            "bucket": "SELECT version, counts FROM poll_votes"
                      " WHERE tweet_id = ? AND bucket = ? LIMIT 1",
            "vote_of": "SELECT position FROM poll_votes"
                       " WHERE tweet_id = ? AND bucket = ? AND user_id = ?",
            "add_vote": "INSERT INTO poll_votes (tweet_id, bucket, user_id, position, voted_at)"
                        " VALUES (?, ?, ?, ?, toTimestamp(now())) IF NOT EXISTS",
            "set_counts": "UPDATE poll_votes SET version = ?, counts = ?"
                          " WHERE tweet_id = ? AND bucket = ? IF version = ?",
            "totals": "SELECT counts FROM poll_votes WHERE tweet_id = ? AND bucket IN ?"
                      " PER PARTITION LIMIT 1",
            "voters": "SELECT user_id FROM poll_votes"
                      " WHERE tweet_id = ? AND bucket = ? AND user_id > ? LIMIT ?",
        }
        return cls(cql, {k: await cql.prepare(q) for k, q in queries.items()})

    async def vote(self, tweet_id: int, user_id: int, position: int, options: int) -> int:
        """Records the user's vote unless they have one; returns the position
        that stands (theirs from before when they had voted)."""
        bucket = bucket_of(user_id)
        async with self._locks.hold([f"{tweet_id}:{bucket}"]):
            state = await self._bucket(tweet_id, bucket, serial=False)
            for attempt in range(MAX_ATTEMPTS):
                counts = list(state.counts) or [0] * options
                counts += [0] * (options - len(counts))
                counts[position - 1] += 1
                try:
                    rows = await self._cql.execute(batch(
                        (self._s["add_vote"], (tweet_id, bucket, user_id, position)),
                        (self._s["set_counts"], ((state.version or 0) + 1, counts, tweet_id,
                                                 bucket, state.version))))
                except (WriteTimeout, OperationTimedOut):
                    stood = await self.vote_of(tweet_id, user_id, serial=True)
                    if stood:
                        return stood
                    state = await self._bucket(tweet_id, bucket, serial=True)
                    continue
                if applied(rows):
                    return position
                found = _position_in(rows, user_id)
                if found is None:  # not in the answer: read it
                    found = await self.vote_of(tweet_id, user_id, serial=True)
                if found:
                    return found
                await backoff(attempt)
                state = await self._bucket(tweet_id, bucket, serial=True)
        raise Unavailable("the poll is busy; try again")

    async def vote_of(self, tweet_id: int, user_id: int, *, serial: bool = False) -> int:
        """The position the user voted for; 0 when they have not voted."""
        rows = await self._cql.execute(
            self._s["vote_of"], (tweet_id, bucket_of(user_id), user_id), serial=serial)
        return int(rows[0]["position"]) if rows and rows[0]["position"] else 0

    async def counts(self, tweet_id: int, options: int) -> tuple[int, ...]:
        """The poll's count of each option (every bucket's counts added up)."""
        totals = [0] * options
        rows = await self._cql.execute(self._s["totals"], (tweet_id, list(range(BUCKETS))))
        for row in rows:
            for i, n in enumerate((row["counts"] or [])[:options]):
                totals[i] += n
        return tuple(totals)

    async def voters(self, tweet_id: int, after: tuple[int, int],
                     limit: int) -> tuple[list[int], tuple[int, int] | None]:
        """Up to `limit` voters after the position (bucket, user id) `after`
        (start with (0, -1)), and the position to go on from (None at the end)."""
        bucket, last = after
        found: list[int] = []
        while bucket < BUCKETS and len(found) < limit:
            rows = await self._cql.execute(self._s["voters"],
                                           (tweet_id, bucket, last, limit - len(found)))
            found += [r["user_id"] for r in rows if r["user_id"] is not None]
            if len(found) < limit:
                bucket, last = bucket + 1, -1
            else:
                last = found[-1]
        return found, ((bucket, last) if bucket < BUCKETS else None)

    async def _bucket(self, tweet_id: int, bucket: int, *, serial: bool) -> BucketState:
        rows = await self._cql.execute(self._s["bucket"], (tweet_id, bucket), serial=serial)
        if not rows or rows[0]["version"] is None:
            return BucketState(None, ())
        return BucketState(int(rows[0]["version"]), tuple(rows[0]["counts"] or ()))


def _position_in(rows: list[Row], user_id: int) -> int | None:
    """The voter's existing row among a failed batch's rows, if it came back."""
    for row in rows:
        if row.get("user_id") == user_id and row.get("position"):
            return int(row["position"])
    return None
