"""Polls against the real Cassandra and JetStream: exact counts and one vote
per user under many concurrent voters racing from two "processes" (retries
and changed minds included), the end's due-time row written with the tweet,
and the end announced page by page, every voter exactly once, idempotently."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from google.protobuf.duration_pb2 import Duration
from twitter.tweets.v1 import events_pb2, polls_pb2, tweets_pb2

from services.shared.fields.timestamps import from_timestamp
from services.shared.messaging.cql_outbox import Intent
from services.shared.messaging.events import Event
from services.shared.snowflake.ids import IdGenerator, id_time
from services.shared.stores.cassandra import Cql
from services.tweets import followups
from services.tweets.domain import Kind, Revision, TweetRecord
from services.tweets.followups import FollowUps
from services.tweets.polls.ends import POLL_ENDS_TABLE, PollEnder, PollEndLog, epoch_ms
from services.tweets.polls.rules import PollDefinition
from services.tweets.polls.votes import PollVotes
from services.tweets.settings import TweetsSettings
from services.tweets.wiring import Components
from tests.support.tweets import FlakyPublisher
from tests.support.users import MakeAccount

if TYPE_CHECKING:
    from tests.support.tweets import Stub



async def poll_tweet(tweets: Stub, make_account: MakeAccount,
                     options: list[str]) -> tweets_pb2.Tweet:
    author = await make_account("p")
    response = await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content="pick one", poll=polls_pb2.PollSpec(options=options,
                                                   duration=Duration(seconds=600))),
        metadata=author.metadata)
    return response.tweet


async def test_concurrent_voters_are_counted_exactly_once_each(cql: Cql) -> None:
    """200 voters, each sending three votes at once: two for one option
    through two processes (a retry racing its original) and one for another
    (a changed mind on a second device). One vote stands per voter, every
    attempt answers with it, and the counts are exactly the votes standing."""
    first, second = await PollVotes.open(cql), await PollVotes.open(cql)
    tweet_id = random.getrandbits(62)
    voters = random.sample(range(1, 1 << 40), 200)
    options = 4
    wanted = {v: random.randint(1, options) for v in voters}
    other = {v: wanted[v] % options + 1 for v in voters}

    attempts = [(v, store, position) for v in voters
                for store, position in ((first, wanted[v]), (second, wanted[v]),
                                        (second, other[v]))]
    random.shuffle(attempts)
    answers = await asyncio.gather(*(store.vote(tweet_id, v, position, options)
                                     for v, store, position in attempts))

    stood: dict[int, set[int]] = {}
    for (v, _, _), answer in zip(attempts, answers, strict=True):
        stood.setdefault(v, set()).add(answer)
    assert all(len(answer) == 1 for answer in stood.values()), "two votes stood for a voter"
    standing = {v: answer.pop() for v, answer in stood.items()}
    assert all(standing[v] in (wanted[v], other[v]) for v in voters)
    expected = Counter(standing.values())
    assert await first.counts(tweet_id, options) == tuple(expected[p] for p in
                                                          range(1, options + 1))
    assert sum(await second.counts(tweet_id, options)) == len(voters)
    for v in random.sample(voters, 20):
        assert await first.vote_of(tweet_id, v) == standing[v]

    listed: list[int] = []
    after: tuple[int, int] | None = (0, -1)
    while after is not None:
        page, after = await first.voters(tweet_id, after, 33)
        listed += page
    assert sorted(listed) == sorted(voters)


async def test_the_end_is_scheduled_with_the_tweet_and_announced_page_by_page(
        tweets: Stub, make_account: MakeAccount, cql: Cql,
        replica: tuple[Components, FlakyPublisher]) -> None:
    parts, publisher = replica
    tweet = await poll_tweet(tweets, make_account, ["left", "right"])
    ends_ms = epoch_ms(from_timestamp(tweet.poll.ends_at))
    log = await end_log(cql)
    shard, slot = log.shard_of(tweet.tweet_id), log.due_slot(ends_ms)
    assert tweet.tweet_id in {i.op_id for i in await log.scan(shard, slot)}

    votes = await PollVotes.open(cql)
    voters = random.sample(range(1, 1 << 40), 23)
    await asyncio.gather(*(votes.vote(tweet.tweet_id, v, 1 + v % 2, 2) for v in voters))
    ender = PollEnder(parts.store, votes, log, publisher, page_size=5)
    intent = Intent(tweet.tweet_id, tweet.tweet_id, str(ends_ms))

    await ender.resolve(intent)
    first = _ended(publisher.published, tweet.tweet_id)
    assert [e.page for e in first] == [0, 1, 2, 3, 4]
    named = [v for e in first for v in e.voter_user_ids]
    assert sorted(named) == sorted(voters)  # each voter once
    assert all(e.author_user_id == tweet.user_id for e in first)
    assert all(list(e.vote_counts) == [sum(v % 2 == 0 for v in voters),
                                       sum(v % 2 == 1 for v in voters)] for e in first)
    assert tweet.tweet_id not in {i.op_id for i in await log.scan(shard, slot)}

    # Ending again (a worker that died before removing the row) repeats the
    # same events under the same ids: JetStream and the notifier keep one.
    publisher.published.clear()
    await ender.resolve(intent)
    again = _ended(publisher.published, tweet.tweet_id)
    assert [e.event_id for e in again] == [e.event_id for e in first]


async def test_a_deleted_tweets_poll_ends_without_a_word(
        tweets: Stub, make_account: MakeAccount, cql: Cql,
        replica: tuple[Components, FlakyPublisher]) -> None:
    parts, publisher = replica
    author = await make_account("d")
    created = await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content="gone soon", poll=polls_pb2.PollSpec(options=["a", "b"],
                                                    duration=Duration(seconds=600))),
        metadata=author.metadata)
    tweet = created.tweet
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=tweet.tweet_id),
                             metadata=author.metadata)
    log = await end_log(cql)
    ender = PollEnder(parts.store, await PollVotes.open(cql), log, publisher, page_size=5)
    await ender.resolve(Intent(tweet.tweet_id, tweet.tweet_id,
                               str(epoch_ms(from_timestamp(tweet.poll.ends_at)))))
    assert _ended(publisher.published, tweet.tweet_id) == []


async def end_log(cql: Cql) -> PollEndLog:
    """The index as the stack's tweets processes open it (their settings)."""
    settings = TweetsSettings()
    return await PollEndLog.open(cql, POLL_ENDS_TABLE, shards=settings.poll_end_shards,
                                 slot_seconds=settings.poll_end_slot_seconds)


def _ended(published: list[Event], tweet_id: int) -> list[events_pb2.PollEnded]:
    found = [events_pb2.PollEnded.FromString(e.payload) for e in published
             if e.subject == "twitter.poll.ended"]
    return [e for e in found if e.tweet_id == tweet_id]


async def test_a_fenced_create_takes_its_poll_and_its_scheduled_end_back(
        make_account: MakeAccount, cql: Cql,
        replica: tuple[Components, FlakyPublisher]) -> None:
    """A create that wrote the tweet, its poll and its end's row but never its
    event row (the process died mid-batch) is fenced by a retry or the relay:
    nothing of it may stay, the poll's end included."""
    parts, _ = replica
    author = await make_account("f")
    tweet_id = IdGenerator.fixed(1023).next_id()
    created = id_time(tweet_id)
    poll = PollDefinition(("a", "b"), created + timedelta(minutes=10))
    record = TweetRecord(
        tweet_id=tweet_id, user_id=author.user_id, kind=Kind.ORIGINAL,
        current=Revision(1, "half written", [], [], [], created), media_ids=[],
        created_at=created, edited_at=None, like_count=0, retweet_count=0, reply_count=0,
        reply_to=0, retweet_of=0, deleted=False, poll=poll)
    log = await end_log(cql)
    steps = [followups.index(author.user_id, tweet_id, Kind.ORIGINAL),
             followups.schedule_poll_end(tweet_id, epoch_ms(poll.ends_at))]
    await parts.store.write([parts.store.insert_tweet(record), parts.store.set_poll(record),
                             *FollowUps(parts.store, parts.counter, log).statements(steps)])
    shard, slot = log.shard_of(tweet_id), log.due_slot(epoch_ms(poll.ends_at))
    assert tweet_id in {i.op_id for i in await log.scan(shard, slot)}
    assert (await parts.store.get(tweet_id)) is not None

    assert not await parts.outbox.settle_create(tweet_id, steps)
    assert tweet_id not in {i.op_id for i in await log.scan(shard, slot)}
    assert (await parts.store.get(tweet_id)) is None
