"""Polls (service layer): defining one with a new tweet, voting, and the
results one viewer may see. Rules in rules.py, votes in votes.py,
the end in ends.py; the design is in docs/POLLS.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cassandra.query import PreparedStatement
from twitter.tweets.v1 import polls_pb2

from services.shared.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.shared.fields.timestamps import from_timestamp
from services.shared.stores.cassandra import Params
from services.tweets import followups
from services.tweets.domain import TweetRecord
from services.tweets.polls.ends import epoch_ms
from services.tweets.polls.rules import (
    MIN_DURATION,
    PollDefinition,
    PollInput,
    Results,
    results_visible,
    validate_poll,
)
from services.tweets.polls.views import poll_pb
from services.tweets.polls.votes import PollVotes
from services.tweets.reads import CachedReads
from services.tweets.repository import TweetStore

NO_POLL = "this tweet has no poll"


class Polls:
    def __init__(self, store: TweetStore, reads: CachedReads, votes: PollVotes, *,
                 min_duration: timedelta = MIN_DURATION) -> None:
        self._store = store
        self._reads = reads
        self._votes = votes
        self._min_duration = min_duration

    def define(self, asked: PollInput, created_at: datetime, *,
               has_media: bool) -> PollDefinition:
        """The poll of a tweet being created, or INVALID_ARGUMENT."""
        if has_media:
            raise InvalidArgument.field("media_ids", "a tweet with a poll cannot carry media")
        return validate_poll(asked.options, asked.duration, created_at=created_at,
                             min_duration=self._min_duration)

    def write(self, tweet: TweetRecord) -> tuple[PreparedStatement, Params]:
        """Written with the tweet, in its partition: the poll."""
        return self._store.set_poll(tweet)

    @staticmethod
    def schedule_end(tweet_id: int, poll: PollDefinition) -> followups.Step:
        """The create's follow-up step that schedules the poll's end."""
        return followups.schedule_poll_end(tweet_id, epoch_ms(poll.ends_at))

    async def view(self, viewer: int, tweet_id: int) -> polls_pb2.Poll:
        original, author, poll = await self._poll_of(tweet_id)
        vote = await self._votes.vote_of(original, viewer)
        return await self._shown(original, author, poll, viewer, vote)

    async def vote(self, voter: int, tweet_id: int, position: int) -> polls_pb2.Poll:
        original, author, poll = await self._poll_of(tweet_id)
        if not poll.has_position(position):
            raise InvalidArgument.field(
                "option", f"must be an option's position, 1 to {len(poll.options)}")
        if voter == author:
            raise FailedPrecondition("the author of a poll cannot vote in it")
        if poll.ended(datetime.now(UTC)):
            raise FailedPrecondition("the poll has ended")
        stood = await self._votes.vote(original, voter, position, len(poll.options))
        if stood != position:
            raise AlreadyExists(f"you already voted for option {stood}")
        return await self._shown(original, author, poll, voter, stood)

    async def _shown(self, tweet_id: int, author: int, poll: PollDefinition, viewer: int,
                     vote: int) -> polls_pb2.Poll:
        now = datetime.now(UTC)
        visible = results_visible(poll, author=author, viewer=viewer, viewer_vote=vote, now=now)
        counts = await self._votes.counts(tweet_id, len(poll.options)) if visible else \
            (0,) * len(poll.options)
        return poll_pb(poll, Results(counts, vote), visible=visible, now=now)

    async def _poll_of(self, tweet_id: int) -> tuple[int, int, PollDefinition]:
        """The tweet carrying the poll (a retweet's original), its author and its poll."""
        original, author = await self._reads.target(tweet_id)
        entry = (await self._reads.entries([original])).get(original)
        if entry is None or entry.deleted or not entry.tweet.HasField("poll"):
            raise NotFound(NO_POLL)
        shown = entry.tweet.poll
        return original, author, PollDefinition(tuple(o.label for o in shown.options),
                                                from_timestamp(shown.ends_at))
