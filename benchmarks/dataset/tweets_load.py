"""Tweets, replies, likes and retweets, written straight to the tweets service's
Cassandra tables with the service's own prepared statements (TweetStore), so
the rows are the ones CreateTweet, LikeTweet and Retweet leave behind:

- the tweet partition: the tweet row (kind 0, revision 1, content, hashtags,
  mentions and urls from the service's own extractor, final like, retweet and
  reply counts) and its edge rows (kind 1 likes, kind 2 retweets, kind 3
  replies), as after every follow-up ran;
- user_tweets (the author's index row, and each retweet's), tweet_likers and
  user_likes, at the same id-derived write timestamps as followups.py;
- each retweet's own partition (the retweet record).

What it skips, and why the result is the same for the workload:
- the outbox's event rows (kind 9, expiring after 30 days) and intents: they
  are only read back while an operation is in flight;
- the JetStream events. Their consumers: fanout (home timelines are rebuilt
  from ListRecentTweetIds on a reader's first read, which the benchmark's
  warm-up does; celebrities, which fanout would mark, are marked by the loader
  with the timeline store's own call), mentions timelines and the search
  index (neither is read by the workload).
- lightweight transactions: rows are plain writes in unlogged batches (one
  Cassandra node here, so a batch is one request); nothing else writes these
  partitions while the loader runs.

Idempotent: a tweet counts as loaded once its author's user_tweets row exists,
which is written last, after everything else of the tweet; re-runs skip those
and rewrite (the same values) for the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from cassandra.query import BatchStatement, BatchType, PreparedStatement

from benchmarks.dataset.graph import Dataset, Tweet
from services.shared.snowflake.ids import id_time
from services.shared.stores.cassandra import Cql, Params
from services.tweets.domain import Kind, Mention, Revision, TweetRecord
from services.tweets.entities import extract
from services.tweets.pairs import retweet_record
from services.tweets.repository import RowKind, TweetStore, write_time

Progress = Callable[[int], None]
Statement = tuple[PreparedStatement, Params]
BATCH = 80  # statements per unlogged batch (well under the 50 KiB batch limit)
# A like, retweet or reply row as the service leaves it once a recount has
# counted it (see services/tweets/counts.py), and the counts that include them.
EDGE = ("UPDATE tweets USING TIMESTAMP ? SET ref_id = ?, edge_at = ?, removed = false,"
        " counted = true, refs = refs + ? WHERE tweet_id = ? AND kind = ? AND member = ?")
COUNTS = ("UPDATE tweets SET like_count = ?, retweet_count = ?, reply_count = ?,"
          " like_version = 1, retweet_version = 1, reply_version = 1 WHERE tweet_id = ?")


class TweetLoader:
    def __init__(self, cql: Cql, store: TweetStore, edge: PreparedStatement,
                 counts: PreparedStatement, data: Dataset) -> None:
        self._cql = cql
        self._store = store
        self._edge = edge
        self._counts = counts
        names = {u.username.lower(): u for u in data.users}
        self._mention = lambda name: (Mention(names[name].user_id, names[name].username)
                                      if name in names else None)

    @classmethod
    async def open(cls, cql: Cql, data: Dataset) -> TweetLoader:
        return cls(cql, await TweetStore.open(cql), await cql.prepare(EDGE),
                   await cql.prepare(COUNTS), data)

    async def missing(self, data: Dataset) -> list[Tweet]:
        """The dataset's tweets whose author index row is not there yet."""
        if not data.tweets:
            return []
        low, high = data.tweets[0].tweet_id, data.tweets[-1].tweet_id
        authors = sorted({t.author for t in data.tweets})
        pages = await self._cql.execute_many(
            (self._store.statement("user_tweets", (a, high + 1, low, 1_000_000)))
            for a in authors)
        present = {(a, r["tweet_id"]) for a, rows in zip(authors, pages, strict=True)
                   for r in rows}
        return [t for t in data.tweets if (t.author, t.tweet_id) not in present]

    async def load(self, tweets: list[Tweet]) -> None:
        """Several tweets: their rows in batches, then their index rows."""
        body = [row for tweet in tweets for row in self._rows(tweet)]
        for i in range(0, len(body), BATCH):
            await self._cql.execute(_batch(body[i:i + BATCH]))
        await self._cql.execute(_batch([self._store.statement("index", (
            t.author, t.tweet_id, int(Kind.REPLY if t.reply_to else Kind.ORIGINAL), 0,
            write_time(t.tweet_id))) for t in tweets]))

    def _rows(self, tweet: Tweet) -> Iterator[Statement]:
        store = self._store
        yield store.insert_tweet(self._record(tweet))
        yield self._counts, (len(tweet.likes), len(tweet.retweets), len(tweet.replies),
                             tweet.tweet_id)
        for user, like in tweet.likes:
            at = write_time(like)
            yield self._edge, (at, like, id_time(like), {like}, tweet.tweet_id,
                               int(RowKind.LIKE), user)
            yield store.statement("add_liker", (tweet.tweet_id, like, user, at))
            yield store.statement("add_user_like", (user, like, tweet.tweet_id, at))
        for user, retweet in tweet.retweets:
            yield self._edge, (write_time(retweet), retweet, id_time(retweet), {retweet},
                               tweet.tweet_id, int(RowKind.RETWEET), user)
            yield store.insert_tweet(retweet_record(retweet, user, tweet.tweet_id))
            yield store.statement("index", (user, retweet, int(Kind.RETWEET), tweet.tweet_id,
                                            write_time(retweet)))
        for reply in tweet.replies:
            yield self._edge, (write_time(reply), 0, id_time(reply), set(), tweet.tweet_id,
                               int(RowKind.REPLY), reply)

    def _record(self, tweet: Tweet) -> TweetRecord:
        found = extract(tweet.content)
        mentions = [m for m in map(self._mention, (n.lower() for n in found.mention_names)) if m]
        created = id_time(tweet.tweet_id)
        return TweetRecord(
            tweet_id=tweet.tweet_id, user_id=tweet.author,
            kind=Kind.REPLY if tweet.reply_to else Kind.ORIGINAL,
            current=Revision(1, tweet.content, found.hashtags, mentions, found.urls, created),
            media_ids=[], created_at=created, edited_at=None, like_count=len(tweet.likes),
            retweet_count=len(tweet.retweets), reply_count=len(tweet.replies),
            reply_to=tweet.reply_to, retweet_of=0, deleted=False)


def _batch(statements: list[Statement]) -> BatchStatement:
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    for statement, params in statements:
        batch.add(statement, params)
    return batch
