"""Likes and retweets (services/tweets/engagement.py, pairs.py, counts.py) over
an in-memory store: idempotent changes, counts equal to the rows, the events
each change announces once, racing changes, and the relay finishing a change
whose caller saw it fail."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from twitter.tweets.v1 import events_pb2

from services.shared.errors import InvalidArgument, NotFound, Unavailable
from services.shared.messaging.events import Event
from services.shared.snowflake.ids import IdGenerator, id_time
from services.tweets.counts import Counter
from services.tweets.domain import Kind, Revision, TweetRecord
from services.tweets.engagement import Engagement
from services.tweets.pairs import PairWriter
from services.tweets.visibility import Visibility
from tests.fakes.intents import FakeIntentLog
from tests.fakes.relations import FakeRelationsCache
from tests.fakes.tweets import FakeReads, FakeTweetStore, FakeTweetUsers, FakeViewerFlags

AUTHOR, ALICE, BOB = 1, 2, 3
ids = IdGenerator.fixed(6)


@dataclass
class World:
    store: FakeTweetStore = field(default_factory=FakeTweetStore)
    intents: FakeIntentLog = field(default_factory=FakeIntentLog)
    flags: FakeViewerFlags = field(default_factory=FakeViewerFlags)
    published: list[Event] = field(default_factory=list)
    publish_fails: int = 0

    def __post_init__(self) -> None:
        self.reads = FakeReads(self.store)
        self.pairs = PairWriter(self.store, self.intents, Counter(self.store, self.reads.refresh),
                                self.publish, self.reads.refresh)
        self.engagement = Engagement(self.store, self.reads, self.pairs,
                                     FakeTweetUsers(alice=ALICE, bob=BOB), ids, self.flags)

    async def publish(self, event: Event) -> None:
        if self.publish_fails:
            self.publish_fails -= 1
            raise ConnectionError("NATS is down")
        self.published.append(event)

    def kinds(self) -> list[str]:
        return [e.type_name.rsplit(".", 1)[-1] for e in self.published]

    def tweet(self, user: int = AUTHOR) -> int:
        tweet_id = ids.next_id()
        created = id_time(tweet_id)
        self.store.part(tweet_id).tweet = TweetRecord(
            tweet_id, user, Kind.ORIGINAL, Revision(1, "hi", [], [], [], created), [],
            created, None, 0, 0, 0, 0, 0, False)
        return tweet_id

    async def counts(self, tweet_id: int) -> tuple[int, int]:
        tweet = await self.store.get(tweet_id)
        assert tweet is not None
        return tweet.like_count, tweet.retweet_count

    async def relay(self) -> None:
        for intent in self.intents.intents():
            assert intent.op is not None
            await self.pairs.redo(intent.op)
            await self.intents.remove(intent.op_id)


@pytest.fixture
def w() -> World:
    return World()


async def test_a_like_is_counted_flagged_listed_and_announced(w: World) -> None:
    tweet = w.tweet()
    engaged = await w.engagement.like(ALICE, tweet)
    assert engaged.shown == tweet
    assert engaged.flags == ({tweet}, set())
    assert await w.counts(tweet) == (1, 0)
    assert w.flags.flags[(tweet, "liked")][1] is True
    likers, token = await w.engagement.likers(tweet, 10, "")
    assert [(a.user_id, a.username) for a, _ in likers] == [(ALICE, "alice")]
    assert token == ""
    (event,) = w.published
    liked = events_pb2.TweetLiked.FromString(event.payload)
    assert (liked.tweet_id, liked.user_id, liked.like_count) == (tweet, ALICE, 1)
    assert w.intents.intents() == []


async def test_liking_twice_or_unliking_twice_changes_nothing_the_second_time(
        w: World) -> None:
    tweet = w.tweet()
    await w.engagement.like(ALICE, tweet)
    await w.engagement.like(ALICE, tweet)
    assert await w.counts(tweet) == (1, 0)
    await w.engagement.unlike(ALICE, tweet)
    await w.engagement.unlike(ALICE, tweet)
    assert await w.counts(tweet) == (0, 0)
    assert w.kinds() == ["TweetLiked", "TweetUnliked"]
    likers, _ = await w.engagement.likers(tweet, 10, "")
    assert likers == []


async def test_many_likers_at_once_are_all_counted(w: World) -> None:
    tweet = w.tweet()
    users = list(range(100, 130))
    engagement = Engagement(w.store, w.reads, w.pairs,
                            FakeTweetUsers(**{f"u{u}": u for u in users}), ids, w.flags)
    await asyncio.gather(*(engagement.like(u, tweet) for u in users))
    assert await w.counts(tweet) == (30, 0)
    counts = sorted(events_pb2.TweetLiked.FromString(e.payload).like_count
                    for e in w.published)
    assert counts[-1] == 30
    likers, _ = await engagement.likers(tweet, 100, "")
    assert sorted(a.user_id for a, _ in likers) == users


async def test_a_recount_that_loses_its_round_reads_again(w: World) -> None:
    tweet = w.tweet()
    w.store.lose_next_counts = 2
    await w.engagement.like(ALICE, tweet)
    assert await w.counts(tweet) == (1, 0)


async def test_a_retweet_is_its_own_tweet_indexed_for_the_retweeter(w: World) -> None:
    tweet = w.tweet()
    engaged = await w.engagement.retweet(ALICE, tweet)
    retweet = engaged.shown
    assert retweet != tweet
    record = await w.store.get(retweet)
    assert record is not None
    assert (record.kind, record.user_id, record.retweet_of) == (Kind.RETWEET, ALICE, tweet)
    assert await w.counts(tweet) == (0, 1)
    rows = await w.store.user_tweets(ALICE, 1 << 62, 0, 10)
    assert [(r["tweet_id"], r["retweet_of"]) for r in rows] == [(retweet, tweet)]
    assert w.kinds() == ["TweetCreated", "TweetRetweeted"]
    again = await w.engagement.retweet(ALICE, tweet)  # the same retweet, not a second
    assert again.shown == retweet
    assert await w.counts(tweet) == (0, 1)


async def test_an_unretweet_retires_the_retweet_and_unindexes_it(w: World) -> None:
    tweet = w.tweet()
    retweet = (await w.engagement.retweet(ALICE, tweet)).shown
    engaged = await w.engagement.unretweet(ALICE, tweet)
    assert engaged.shown == tweet
    assert engaged.flags == (set(), set())
    record = await w.store.get(retweet)
    assert record is not None
    assert record.deleted
    assert await w.store.user_tweets(ALICE, 1 << 62, 0, 10) == []
    assert await w.counts(tweet) == (0, 0)
    assert w.kinds()[-2:] == ["TweetDeleted", "TweetUnretweeted"]


async def test_liking_a_retweet_likes_its_original(w: World) -> None:
    tweet = w.tweet()
    retweet = (await w.engagement.retweet(BOB, tweet)).shown
    engaged = await w.engagement.like(ALICE, retweet)
    assert engaged.shown == tweet
    assert await w.counts(tweet) == (1, 1)


class CountingReads(FakeReads):
    def __init__(self, store: FakeTweetStore) -> None:
        super().__init__(store)
        self.lookups = 0

    async def target(self, tweet_id: int) -> tuple[int, int]:
        self.lookups += 1
        return await super().target(tweet_id)


async def test_a_like_or_retweet_past_the_block_check_looks_its_tweet_up_once(
        w: World) -> None:
    """The check that the caller may like a tweet already found what the like
    acts on (the original of a retweet) and its author: the like uses it."""
    tweet = w.tweet()
    retweet = (await w.engagement.retweet(BOB, tweet)).shown
    reads = CountingReads(w.store)
    visibility = Visibility(FakeRelationsCache(), reads)
    engagement = Engagement(w.store, reads, w.pairs, FakeTweetUsers(alice=ALICE, bob=BOB), ids,
                            w.flags)
    target = await visibility.may_interact(ALICE, retweet)
    assert (await engagement.like(ALICE, retweet, target=target)).shown == tweet
    target = await visibility.may_interact(ALICE, tweet)
    await engagement.retweet(ALICE, tweet, target=target)
    assert reads.lookups == 2
    assert await w.counts(tweet) == (1, 2)


async def test_a_missing_or_deleted_tweet_is_not_found(w: World) -> None:
    with pytest.raises(NotFound):
        await w.engagement.like(ALICE, 424242)
    with pytest.raises(NotFound):
        await w.engagement.like(ALICE, 0)
    tweet = w.tweet()
    await w.store.write([w.store.statement("mark_deleted", (tweet,))])
    with pytest.raises(NotFound):
        await w.engagement.retweet(ALICE, tweet)
    assert w.intents.intents() == []


async def test_an_unconfirmed_like_is_unavailable_and_the_relay_finishes_it(
        w: World) -> None:
    tweet = w.tweet()
    w.store.fail_writes = 1
    with pytest.raises(Unavailable, match="completes shortly"):
        await w.engagement.like(ALICE, tweet)
    assert await w.counts(tweet) == (0, 0)
    await w.relay()
    assert await w.counts(tweet) == (1, 0)
    assert w.kinds() == ["TweetLiked"]
    assert w.intents.intents() == []


async def test_a_like_whose_publish_failed_is_still_a_like_and_the_relay_announces_it(
        w: World) -> None:
    tweet = w.tweet()
    w.publish_fails = 1
    engaged = await w.engagement.like(ALICE, tweet)
    assert engaged.flags == ({tweet}, set())  # the caller sees the like
    assert w.published == []
    await w.relay()
    assert w.kinds() == ["TweetLiked"]
    await w.relay()  # nothing left: announced once
    assert w.kinds() == ["TweetLiked"]


async def test_a_like_overtaken_by_an_unlike_announces_nothing_on_replay(w: World) -> None:
    tweet = w.tweet()
    w.publish_fails = 1
    await w.engagement.like(ALICE, tweet)  # its intent stays (publish failed)
    await w.engagement.unlike(ALICE, tweet)
    await w.relay()  # the like's replay finds the row is the unlike's now
    assert await w.counts(tweet) == (0, 0)
    assert w.kinds() == ["TweetUnliked"]
    likers, _ = await w.engagement.likers(tweet, 10, "")
    assert likers == []


async def test_likers_page_newest_first_with_a_token_bound_to_the_tweet(w: World) -> None:
    tweet, other = w.tweet(), w.tweet()
    users = list(range(200, 205))
    engagement = Engagement(w.store, w.reads, w.pairs,
                            FakeTweetUsers(**{f"u{u}": u for u in users}), ids, w.flags)
    for u in users:
        await engagement.like(u, tweet)
    seen, token = [], ""
    while True:
        page, token = await engagement.likers(tweet, 2, token)
        seen += [a.user_id for a, _ in page]
        if not token:
            break
    assert seen == users[::-1]
    _, token = await engagement.likers(tweet, 2, "")
    with pytest.raises(InvalidArgument):
        await engagement.likers(other, 2, token)

