"""The end of a poll: its author and voters notified, with no request doing
work in proportion to the voters.

Scheduling. When a tweet with a poll is created, a row keyed by the poll's end
goes into a durable due-time index (`poll_ends`) in the same round trip as the
tweet. The index is an outbox intent log (services/shared/messaging/cql_outbox.py) whose
slot is taken from the end time instead of the operation's: its relay, leased
per shard, reads each slot once the slot is past (plus a grace), so each poll
comes up shortly after it ends, once, whichever replica holds the shard.
Replicas split the shards; a shard whose lease lapses (a process died) is
taken over, and its checkpoint makes the new holder start where the last one
stopped, so an end is never skipped however long the service was down.

Why not JetStream: the pinned NATS server (Debian's nats-server 2.9.10) has no
scheduled or delayed messages (message schedules came in 2.12), and holding a
message unacknowledged for up to 7 days (redelivery with a backoff) would keep
one in-flight delivery per open poll, bounded by max_ack_pending. The index
needs nothing the tweets service does not already run.

The grace (`poll_end_grace_seconds`) is longer than a vote request may take
(the CQL request timeout), so a vote accepted just before the end has landed
or failed before the voters are read: the counts published are final.

Ending. The worker pages through the voters (votes.py) and publishes one
`PollEnded` event per page (`poll_end_page_size` voters; page 0 also stands for
the author), each under an id made of the tweet and the page. The notifications
worker makes one notification per voter from each (O(page) work per event,
O(1) per recipient). A worker that dies midway leaves the row, and the next
round pages again from the start: the same ids are dropped by JetStream's
de-duplication or change nothing in notifications (a part made twice is one).
The row is removed only once every page is out. A deleted tweet's poll
notifies no one.
"""

from __future__ import annotations

from datetime import datetime

from cassandra.query import PreparedStatement
from twitter.tweets.v1 import events_pb2

from services.shared.fields.timestamps import to_timestamp
from services.shared.messaging.cql_outbox import Intent, IntentLog
from services.shared.messaging.events import make_event
from services.shared.observability.logging import get_logger
from services.shared.stores.cassandra import Params
from services.tweets.events import Publish
from services.tweets.polls.votes import PollVotes
from services.tweets.repository import TweetStore

log = get_logger(__name__)
POLL_ENDS_TABLE = "poll_ends"


class PollEndLog(IntentLog):
    """The due-time index: op_id and ref are the tweet id, `op` the end (ms
    since the epoch), and the slot the end's."""

    def due_slot(self, ends_ms: int) -> int:
        return ends_ms // 1000 // self.slot_seconds

    def schedule(self, tweet_id: int, ends_ms: int) -> tuple[PreparedStatement, Params]:
        """The row written with the tweet (a follow-up step of its create)."""
        return self._s["add"], (self.shard_of(tweet_id), self.due_slot(ends_ms), tweet_id,
                                tweet_id, str(ends_ms))

    def unschedule(self, tweet_id: int, ends_ms: int) -> tuple[PreparedStatement, Params]:
        return self._s["remove"], (self.shard_of(tweet_id), self.due_slot(ends_ms), tweet_id)

    async def done(self, tweet_id: int, ends_ms: int) -> None:
        await self._cql.execute(*self.unschedule(tweet_id, ends_ms))


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def ended_event_id(tweet_id: int, page: int) -> str:
    return f"{tweet_id:x}-poll-ended-{page}"


class PollEnder:
    def __init__(self, store: TweetStore, votes: PollVotes, ends: PollEndLog,
                 publish: Publish, *, page_size: int) -> None:
        self._store = store
        self._votes = votes
        self._ends = ends
        self._publish = publish
        self._page_size = page_size

    async def resolve(self, intent: Intent) -> None:
        """The relay's callback for one poll whose end (plus the grace) is past."""
        tweet = await self._store.get(intent.ref)
        if tweet is not None and not tweet.deleted and tweet.poll is not None:
            await self._announce(tweet.tweet_id, tweet.user_id, tweet.poll.ends_at,
                                 len(tweet.poll.options))
        await self._ends.done(intent.ref, int(intent.op or 0))

    async def _announce(self, tweet_id: int, author: int, ends_at: datetime,
                        options: int) -> None:
        counts = await self._votes.counts(tweet_id, options)
        after: tuple[int, int] | None = (0, -1)
        page = 0
        while after is not None:
            voters, after = await self._votes.voters(tweet_id, after, self._page_size)
            if not voters and page > 0:
                break
            await self._publish(make_event(events_pb2.PollEnded(
                event_id=ended_event_id(tweet_id, page), occurred_at=to_timestamp(ends_at),
                tweet_id=tweet_id, author_user_id=author, ends_at=to_timestamp(ends_at),
                page=page, voter_user_ids=voters, vote_counts=counts)))
            page += 1
        log.info("poll ended", tweet_id=tweet_id, pages=page, votes=sum(counts))
