"""Voting in and viewing polls (services/tweets/polls/service.py) over in-memory votes
and tweets: who may vote, one vote each, and who sees the results when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.shared.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from services.shared.snowflake.ids import IdGenerator, id_time
from services.tweets.domain import Kind, Revision, TweetRecord
from services.tweets.polls.rules import PollDefinition
from services.tweets.polls.service import Polls
from tests.fakes.tweets import FakePollVotes, FakeReads, FakeTweetStore

AUTHOR, ALICE, BOB, CAROL = 1, 2, 3, 4
ids = IdGenerator.fixed(7)


class World:
    def __init__(self) -> None:
        self.store = FakeTweetStore()
        self.votes = FakePollVotes()
        self.polls = Polls(self.store, FakeReads(self.store), self.votes)

    def tweet(self, *, ends_in: timedelta | None = timedelta(hours=1), user: int = AUTHOR,
              kind: Kind = Kind.ORIGINAL, retweet_of: int = 0) -> int:
        tweet_id = ids.next_id()
        created = id_time(tweet_id)
        poll = None if ends_in is None else PollDefinition(
            ("tea", "coffee", "water"), datetime.now(UTC) + ends_in)
        self.store.part(tweet_id).tweet = TweetRecord(
            tweet_id, user, kind, Revision(1, "which?", [], [], [], created), [], created,
            None, 0, 0, 0, 0, retweet_of, False, poll=poll)
        return tweet_id


@pytest.fixture
def w() -> World:
    return World()


async def test_a_vote_is_counted_and_its_voter_sees_the_results(w: World) -> None:
    poll = w.tweet()
    shown = await w.polls.vote(ALICE, poll, 2)
    assert shown.viewer_vote == 2
    assert shown.results_visible
    assert [o.vote_count for o in shown.options] == [0, 1, 0]
    assert shown.total_votes == 1
    assert not shown.ended


async def test_results_are_hidden_from_who_has_not_voted_until_the_end(w: World) -> None:
    poll = w.tweet()
    await w.polls.vote(ALICE, poll, 1)
    await w.polls.vote(BOB, poll, 1)
    stranger = await w.polls.view(CAROL, poll)
    assert not stranger.results_visible
    assert [o.vote_count for o in stranger.options] == [0, 0, 0]
    assert [o.label for o in stranger.options] == ["tea", "coffee", "water"]
    author = await w.polls.view(AUTHOR, poll)
    assert author.results_visible
    assert author.total_votes == 2


async def test_one_vote_each_and_a_repeat_of_it_is_harmless(w: World) -> None:
    poll = w.tweet()
    await w.polls.vote(ALICE, poll, 3)
    again = await w.polls.vote(ALICE, poll, 3)
    assert again.total_votes == 1
    with pytest.raises(AlreadyExists, match="option 3"):
        await w.polls.vote(ALICE, poll, 1)
    assert await w.votes.counts(poll, 3) == (0, 0, 1)


async def test_the_author_cannot_vote(w: World) -> None:
    poll = w.tweet()
    with pytest.raises(FailedPrecondition, match="author"):
        await w.polls.vote(AUTHOR, poll, 1)
    assert w.votes.votes == {}


@pytest.mark.parametrize("position", [0, 4, -1])
async def test_a_position_outside_the_options_is_invalid_argument(w: World,
                                                                   position: int) -> None:
    poll = w.tweet()
    with pytest.raises(InvalidArgument) as caught:
        await w.polls.vote(ALICE, poll, position)
    assert [v.field for v in caught.value.violations] == ["option"]
    assert w.votes.votes == {}


async def test_an_ended_poll_takes_no_votes_and_shows_everyone_its_results(
        w: World) -> None:
    poll = w.tweet()
    await w.polls.vote(ALICE, poll, 2)
    part = w.store.part(poll)
    assert part.tweet is not None
    assert part.tweet.poll is not None
    part.tweet = replace(part.tweet, poll=replace(part.tweet.poll,
                                                  ends_at=datetime.now(UTC) - timedelta(1)))
    with pytest.raises(FailedPrecondition, match="ended"):
        await w.polls.vote(BOB, poll, 1)
    shown = await w.polls.view(CAROL, poll)
    assert shown.ended
    assert shown.results_visible
    assert [o.vote_count for o in shown.options] == [0, 1, 0]


async def test_a_vote_through_a_retweet_is_a_vote_in_the_original(w: World) -> None:
    poll = w.tweet()
    retweet = w.tweet(ends_in=None, user=BOB, kind=Kind.RETWEET, retweet_of=poll)
    await w.polls.vote(ALICE, retweet, 1)
    assert w.votes.votes == {(poll, ALICE): 1}


async def test_no_poll_a_missing_or_a_deleted_tweet_is_not_found(w: World) -> None:
    plain = w.tweet(ends_in=None)
    deleted = w.tweet()
    part = w.store.part(deleted)
    assert part.tweet is not None
    part.tweet = replace(part.tweet, deleted=True)
    for tweet_id in (plain, deleted, 987654, 0):
        with pytest.raises(NotFound):
            await w.polls.vote(ALICE, tweet_id, 1)
        with pytest.raises(NotFound):
            await w.polls.view(ALICE, tweet_id)
    assert w.votes.votes == {}
