"""Fanout (services/timeline/fanout.py) with the real store on fakeredis and
an in-memory users service: who gets a new tweet (active followers, mentioned
users, the author), celebrities left to read time, idempotent redelivery,
deletes, follow backfill and unfollow removal, and the fanout lag on a fake
clock. A killed worker mid-fanout is tests/integration/test_fanout_faults.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from redis.asyncio import Redis
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared.errors import Unavailable
from services.shared.rpc.peers import FollowerPage
from services.timeline.domain import Entry
from services.timeline.fanout import Fanout
from services.timeline.store import (
    CELEBRITIES,
    COMPLETE,
    FANOUT_LAG_MS,
    TimelineStore,
    active_key,
    following_key,
    home_key,
    mentions_key,
    recent_key,
)
from tests.fakes.clock import FakeClock
from tests.fakes.peers import FakeTweets, FakeUsers
from tests.fakes.redis import fake_redis

AUTHOR, FAN, IDLE, OTHER = 1, 2, 3, 4
THRESHOLD = 5
CAPACITY = 20
BACKFILL = 4


@dataclass
class World:
    redis: Redis
    store: TimelineStore
    users: FakeUsers
    tweets: FakeTweets
    clock: FakeClock
    fanout: Fanout
    progress: list[int] = field(default_factory=list)

    async def activate(self, *users: int) -> None:
        for user in users:
            await self.redis.set(active_key(user), "1", ex=3600)

    async def home(self, user: int) -> list[Entry]:
        return await self.store.page(home_key(user), before_id=None, count=100)

    async def created(self, tweet_id: int, *, mentions: tuple[int, ...] = (),
                      created_at: float | None = None) -> int:
        tweet = self.tweets.tweets[tweet_id]
        event = tweet_events.TweetCreated(tweet_id=tweet_id, author_user_id=tweet.user_id,
                                          mention_user_ids=mentions)
        if created_at is not None:
            event.created_at.CopyFrom(_timestamp(created_at))

        async def progress() -> None:
            self.progress.append(tweet_id)
        return await self.fanout.tweet_created(event, progress)

    async def deleted(self, tweet_id: int, *, mentions: tuple[int, ...] = ()) -> None:
        async def progress() -> None:
            self.progress.append(-tweet_id)
        await self.fanout.tweet_deleted(tweet_events.TweetDeleted(
            tweet_id=tweet_id, author_user_id=self.tweets.tweets[tweet_id].user_id,
            mention_user_ids=mentions), progress)

    def make_celebrity(self, author: int = AUTHOR) -> None:
        self.users.follower_counts[author] = THRESHOLD + 1


def _timestamp(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.fromtimestamp(seconds, tz=UTC))
    return ts


@pytest.fixture
def world() -> World:
    redis = fake_redis()
    store = TimelineStore(redis, capacity=CAPACITY, inactive_after_seconds=3600,
                          recent_capacity=5)
    users = FakeUsers(follower_batch=2)
    clock = FakeClock()
    tweets = FakeTweets(clock)
    users.follow(FAN, AUTHOR)
    users.follow(IDLE, AUTHOR)
    fanout = Fanout(store, users, tweets, celebrity_threshold=THRESHOLD,
                    follow_backfill=BACKFILL, clock=clock.time,
                    lag_flush_seconds=3600)  # written when a test says so
    return World(redis, store, users, tweets, clock, fanout)


def entry(world: World, tweet_id: int) -> Entry:
    return Entry(tweet_id, world.tweets.tweets[tweet_id].user_id)


# A new tweet --------------------------------------------------------------------------------


async def test_a_tweet_reaches_active_followers_and_skips_inactive_ones(world: World) -> None:
    await world.activate(FAN)
    tweet = world.tweets.post(AUTHOR)
    assert await world.created(tweet) == 1
    assert await world.home(FAN) == [entry(world, tweet)]
    assert await world.home(IDLE) == []


async def test_the_authors_own_active_home_gets_the_tweet(world: World) -> None:
    await world.activate(AUTHOR, FAN)
    tweet = world.tweets.post(AUTHOR)
    assert await world.created(tweet) == 2
    assert await world.home(AUTHOR) == [entry(world, tweet)]


async def test_a_follower_whose_home_is_being_rebuilt_gets_the_tweet(world: World) -> None:
    assert await world.store.start_filling(FAN)  # the rebuild asks the tweets service now
    tweet = world.tweets.post(AUTHOR)
    assert await world.created(tweet) == 1
    assert await world.home(FAN) == [entry(world, tweet)]


async def test_followers_are_written_batch_by_batch_with_progress_after_each(
        world: World) -> None:
    followers = list(range(100, 107))
    for follower in followers:
        world.users.follow(follower, AUTHOR)
    world.users.follower_counts[AUTHOR] = THRESHOLD  # no celebrity, whatever the graph
    await world.activate(*followers)
    tweet = world.tweets.post(AUTHOR)
    assert await world.created(tweet) == len(followers)
    for follower in followers:
        assert await world.home(follower) == [entry(world, tweet)]
    # 9 followers (FAN and IDLE too) in batches of 2: 5 batches, a progress
    # signal before each after the first.
    assert world.progress == [tweet] * 4


async def test_a_fanout_of_one_batch_sends_no_progress_signal(world: World) -> None:
    await world.activate(FAN)
    await world.created(world.tweets.post(AUTHOR))
    assert world.progress == []  # each one is a message to NATS


@pytest.mark.parametrize("celebrity", [False, True])
async def test_mentioned_users_get_it_in_their_mentions_but_not_the_author(
        world: World, celebrity: bool) -> None:
    if celebrity:
        world.make_celebrity()
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet, mentions=(OTHER, AUTHOR))
    assert await world.store.page(mentions_key(OTHER), before_id=None, count=9) == [
        entry(world, tweet)]
    assert not await world.redis.exists(mentions_key(AUTHOR))


async def test_a_redelivered_tweet_is_written_once(world: World) -> None:
    await world.activate(FAN, AUTHOR)
    tweet = world.tweets.post(AUTHOR)
    for _ in range(3):
        await world.created(tweet, mentions=(OTHER,))
    assert await world.home(FAN) == [entry(world, tweet)]
    assert await world.home(AUTHOR) == [entry(world, tweet)]
    assert await world.redis.zcard(mentions_key(OTHER)) == 1


async def test_a_redelivery_completes_a_fanout_that_failed_half_way(world: World) -> None:
    for follower in range(100, 106):
        world.users.follow(follower, AUTHOR)
    world.users.follower_counts[AUTHOR] = THRESHOLD
    await world.activate(FAN, *range(100, 106))
    tweet = world.tweets.post(AUTHOR)

    async def crash_after_the_first_batch() -> None:  # signalled before the second
        raise ConnectionError("worker killed")
    with pytest.raises(ConnectionError):
        await world.fanout.tweet_created(tweet_events.TweetCreated(
            tweet_id=tweet, author_user_id=AUTHOR), crash_after_the_first_batch)
    # The first batch (FAN, IDLE) was written, the rest not.
    assert await world.home(FAN) == [entry(world, tweet)]
    assert await world.home(100) == []
    await world.created(tweet)  # JetStream delivers it again
    for follower in (FAN, *range(100, 106)):
        assert await world.home(follower) == [entry(world, tweet)]


async def test_homes_stay_within_capacity(world: World) -> None:
    await world.activate(FAN)
    posted = [world.tweets.post(AUTHOR) for _ in range(CAPACITY + 5)]
    for tweet in posted:
        await world.created(tweet)
    assert [e.tweet_id for e in await world.home(FAN)] == sorted(posted, reverse=True)[
        :CAPACITY]


# Celebrities -------------------------------------------------------------------------------


async def test_a_celebritys_tweet_goes_to_their_recent_set_not_to_followers(
        world: World) -> None:
    world.make_celebrity()
    await world.activate(FAN, AUTHOR)
    tweet = world.tweets.post(AUTHOR)
    assert await world.created(tweet) == 1  # the author's own home only
    assert await world.home(FAN) == []
    assert await world.store.page(recent_key(AUTHOR), before_id=None, count=9,
                                  floor="(0") == [entry(world, tweet)]
    assert world.users.called("follower_batches") == []
    assert await world.redis.sismember(CELEBRITIES, str(AUTHOR))


async def test_an_author_below_the_threshold_again_is_no_celebrity(world: World) -> None:
    world.make_celebrity()
    await world.created(world.tweets.post(AUTHOR))
    del world.users.follower_counts[AUTHOR]  # unfollowed by enough of them:
    await world.fanout.follow_deleted(user_events.FollowDeleted(follower_id=OTHER,
                                                                followee_id=AUTHOR))
    await world.activate(FAN)
    tweet = world.tweets.post(AUTHOR)
    assert await world.created(tweet) == 1
    assert not await world.redis.sismember(CELEBRITIES, str(AUTHOR))
    assert await world.home(FAN) == [entry(world, tweet)]


@pytest.mark.parametrize("followers", [THRESHOLD, THRESHOLD + 1])
async def test_the_threshold_is_exclusive(world: World, followers: int) -> None:
    world.users.follower_counts[AUTHOR] = followers
    await world.activate(FAN)
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    celebrity = followers > THRESHOLD
    assert await world.redis.sismember(CELEBRITIES, str(AUTHOR)) == celebrity
    assert await world.home(FAN) == ([] if celebrity else [entry(world, tweet)])


@pytest.mark.parametrize("celebrity", [False, True])
async def test_a_tweet_costs_one_users_call_that_asks_for_no_ids_above_the_threshold(
        world: World, celebrity: bool) -> None:
    if celebrity:
        world.make_celebrity()
    await world.activate(FAN)
    await world.created(world.tweets.post(AUTHOR))
    assert world.users.calls == [("first_followers", (AUTHOR, THRESHOLD))]


async def test_the_celebrity_flag_is_written_again_only_after_a_while_when_unchanged(
        world: World) -> None:
    await world.created(world.tweets.post(AUTHOR))
    # Another worker flags the author (their count crossed the threshold for it).
    await world.redis.sadd(CELEBRITIES, str(AUTHOR))
    await world.created(world.tweets.post(AUTHOR))
    assert await world.redis.sismember(CELEBRITIES, str(AUTHOR))  # not written again...
    world.clock.advance(61)
    await world.created(world.tweets.post(AUTHOR))
    assert not await world.redis.sismember(CELEBRITIES, str(AUTHOR))  # ...until then


async def test_an_author_who_becomes_a_celebrity_is_flagged_at_once(world: World) -> None:
    await world.activate(FAN)
    await world.created(world.tweets.post(AUTHOR))
    world.make_celebrity()  # one follow more:
    await world.fanout.follow_created(followed(OTHER, AUTHOR, count=THRESHOLD + 1))
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    assert await world.redis.sismember(CELEBRITIES, str(AUTHOR))
    assert entry(world, tweet) not in await world.home(FAN)


async def test_a_kept_recent_set_of_an_ordinary_author_gets_the_tweet(world: World) -> None:
    await world.store.replace_recent(AUTHOR, [])  # a list reader keeps it
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    assert await world.redis.zscore(recent_key(AUTHOR), entry(world, tweet).member) is not None


async def test_no_recent_set_is_created_for_an_ordinary_author(world: World) -> None:
    await world.created(world.tweets.post(AUTHOR))
    assert not await world.redis.exists(recent_key(AUTHOR))


# Followers cached between an author's tweets ------------------------------------------------


@pytest.mark.parametrize("celebrity", [False, True])
async def test_an_authors_next_tweets_cost_no_users_call(world: World, celebrity: bool) -> None:
    if celebrity:
        world.make_celebrity()
    await world.activate(FAN)
    posted = [world.tweets.post(AUTHOR) for _ in range(3)]
    for tweet in posted:
        await world.created(tweet)
    assert world.users.calls == [("first_followers", (AUTHOR, THRESHOLD))]
    assert await world.home(FAN) == ([] if celebrity else [
        entry(world, t) for t in reversed(posted)])
    assert await world.redis.sismember(CELEBRITIES, str(AUTHOR)) == celebrity


async def test_a_follow_reaches_the_next_tweet(world: World) -> None:
    await world.created(world.tweets.post(AUTHOR))
    world.users.follow(OTHER, AUTHOR)
    await world.activate(OTHER)
    await world.fanout.follow_created(followed(OTHER, AUTHOR, count=3))
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    assert entry(world, tweet) in await world.home(OTHER)


async def test_an_unfollow_reaches_the_next_tweet(world: World) -> None:
    await world.activate(FAN)
    await world.created(world.tweets.post(AUTHOR))
    world.users.unfollow(FAN, AUTHOR)
    await world.fanout.follow_deleted(user_events.FollowDeleted(follower_id=FAN,
                                                                followee_id=AUTHOR))
    await world.created(world.tweets.post(AUTHOR))
    assert await world.home(FAN) == []


async def test_a_follow_handled_during_the_users_call_is_not_cached_over(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The users service answers with the followers from before a follow
    whose event is handled before the answer is stored: the old list must not
    be stored, or the new follower would miss the author's next tweets."""
    asked = world.users.first_followers

    async def racing(user_id: int, *, max_count: int = 0) -> FollowerPage:
        page = await asked(user_id, max_count=max_count)
        world.users.follow(OTHER, AUTHOR)
        await world.fanout.follow_created(followed(OTHER, AUTHOR, count=3))
        return page
    monkeypatch.setattr(world.users, "first_followers", racing)
    await world.created(world.tweets.post(AUTHOR))
    monkeypatch.setattr(world.users, "first_followers", asked)
    await world.activate(OTHER)
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    assert entry(world, tweet) in await world.home(OTHER)


async def test_followers_beyond_one_batch_are_asked_for_every_time(world: World) -> None:
    world.users.follow(OTHER, AUTHOR)  # three followers, two a batch
    for _ in range(2):
        await world.created(world.tweets.post(AUTHOR))
    assert world.users.called("first_followers") == [(AUTHOR, THRESHOLD)] * 2


async def test_a_delete_reads_the_cached_followers(world: World) -> None:
    await world.activate(FAN)
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    await world.deleted(tweet)
    assert await world.home(FAN) == []
    assert world.users.calls == [("first_followers", (AUTHOR, THRESHOLD))]


# Fanout lag on the fake clock ---------------------------------------------------------------


async def test_the_lag_from_creation_to_the_last_follower_is_recorded(world: World) -> None:
    tweet = world.tweets.post(AUTHOR)
    created = world.clock.time()
    world.clock.advance(2.5)
    await world.created(tweet, created_at=created)
    await world.fanout.record_lag_now()
    assert await world.redis.lrange(FANOUT_LAG_MS, 0, -1) == [b"2500.0"]


async def test_an_event_without_a_creation_time_records_no_lag(world: World) -> None:
    await world.created(world.tweets.post(AUTHOR))
    await world.fanout.record_lag_now()
    assert await world.redis.lrange(FANOUT_LAG_MS, 0, -1) == [b"0.0"]


async def test_lag_samples_of_many_tweets_are_written_together_newest_first(
        world: World) -> None:
    for lag in (1.0, 2.0, 3.0):
        tweet = world.tweets.post(AUTHOR)
        created = world.clock.time()
        world.clock.advance(lag)
        await world.created(tweet, created_at=created)
    assert await world.redis.llen(FANOUT_LAG_MS) == 0  # none written per tweet
    await world.fanout.record_lag_now()
    assert await world.redis.lrange(FANOUT_LAG_MS, 0, -1) == [b"3000.0", b"2000.0", b"1000.0"]


# Deletes ------------------------------------------------------------------------------------


async def test_a_delete_removes_the_tweet_everywhere_fanout_put_it(world: World) -> None:
    await world.activate(FAN, AUTHOR)
    await world.store.replace_recent(AUTHOR, [])
    kept = world.tweets.post(AUTHOR)
    doomed = world.tweets.post(AUTHOR)
    for tweet in (kept, doomed):
        await world.created(tweet, mentions=(OTHER,))
    await world.deleted(doomed, mentions=(OTHER,))
    for key in (home_key(FAN), home_key(AUTHOR), mentions_key(OTHER)):
        assert await world.store.page(key, before_id=None, count=9) == [entry(world, kept)]
    assert await world.redis.zscore(recent_key(AUTHOR), entry(world, doomed).member) is None
    assert await world.redis.zscore(recent_key(AUTHOR), COMPLETE) == 0
    assert world.progress[-1] == -doomed


async def test_a_celebritys_delete_skips_the_followers(world: World) -> None:
    world.make_celebrity()
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    world.users.calls.clear()
    await world.deleted(tweet)
    assert await world.store.page(recent_key(AUTHOR), before_id=None, count=9,
                                  floor="(0") == []
    assert world.users.called("follower_batches") == []


async def test_a_redelivered_delete_is_harmless(world: World) -> None:
    await world.activate(FAN)
    tweet = world.tweets.post(AUTHOR)
    await world.created(tweet)
    await world.deleted(tweet)
    await world.deleted(tweet)
    assert await world.home(FAN) == []


# Follow and unfollow -------------------------------------------------------------------------


def followed(follower: int, followee: int, count: int = 1) -> user_events.FollowCreated:
    return user_events.FollowCreated(follower_id=follower, followee_id=followee,
                                     followee_follower_count=count)


async def test_a_follow_backfills_the_followees_newest_tweets(world: World) -> None:
    await world.activate(OTHER)
    posted = [world.tweets.post(AUTHOR) for _ in range(BACKFILL + 3)]
    await world.fanout.follow_created(followed(OTHER, AUTHOR))
    assert [e.tweet_id for e in await world.home(OTHER)] == sorted(posted, reverse=True)[
        :BACKFILL]
    assert world.tweets.called("recent_ids") == [(AUTHOR, BACKFILL, 0)]


async def test_a_follow_merges_into_what_the_home_already_holds(world: World) -> None:
    await world.activate(OTHER)
    mine = world.tweets.post(OTHER)
    await world.store.add([home_key(OTHER)], entry(world, mine))
    theirs = world.tweets.post(AUTHOR)
    await world.fanout.follow_created(followed(OTHER, AUTHOR))
    assert await world.home(OTHER) == [entry(world, theirs), entry(world, mine)]


async def test_a_follow_backfills_a_home_being_rebuilt(world: World) -> None:
    # The rebuild may have read whom they follow before this follow.
    assert await world.store.start_filling(OTHER)
    theirs = world.tweets.post(AUTHOR)
    await world.fanout.follow_created(followed(OTHER, AUTHOR))
    assert await world.home(OTHER) == [entry(world, theirs)]


async def test_a_follow_drops_the_cached_following(world: World) -> None:
    await world.store.set_following(OTHER, [FAN], version="")
    await world.fanout.follow_created(followed(OTHER, AUTHOR))
    assert not await world.redis.exists(following_key(OTHER))


async def test_an_inactive_followers_home_is_not_backfilled(world: World) -> None:
    world.tweets.post(AUTHOR)
    await world.fanout.follow_created(followed(OTHER, AUTHOR))
    assert await world.home(OTHER) == []
    assert world.tweets.called("recent_ids") == []  # rebuilt on their next read


async def test_following_a_celebrity_backfills_nothing(world: World) -> None:
    await world.activate(OTHER)
    world.tweets.post(AUTHOR)
    await world.fanout.follow_created(followed(OTHER, AUTHOR, count=THRESHOLD + 1))
    assert await world.home(OTHER) == []
    assert world.tweets.called("recent_ids") == []


async def test_a_redelivered_follow_backfills_once(world: World) -> None:
    await world.activate(OTHER)
    posted = [world.tweets.post(AUTHOR) for _ in range(2)]
    for _ in range(2):
        await world.fanout.follow_created(followed(OTHER, AUTHOR))
    assert [e.tweet_id for e in await world.home(OTHER)] == sorted(posted, reverse=True)


async def test_a_follow_whose_backfill_fails_leaves_the_home_untouched(world: World) -> None:
    await world.activate(OTHER)
    world.tweets.post(AUTHOR)
    world.tweets.fail_with(Unavailable("tweets are down"))
    with pytest.raises(Unavailable):  # the event is redelivered later
        await world.fanout.follow_created(followed(OTHER, AUTHOR))
    assert await world.home(OTHER) == []


async def test_an_unfollow_removes_only_the_followees_entries(world: World) -> None:
    await world.activate(FAN)
    theirs = world.tweets.post(AUTHOR)
    others = world.tweets.post(OTHER)
    await world.store.add([home_key(FAN)], entry(world, theirs))
    await world.store.add([home_key(FAN)], entry(world, others))
    await world.store.set_following(FAN, [AUTHOR, OTHER], version="")
    await world.fanout.follow_deleted(user_events.FollowDeleted(follower_id=FAN,
                                                                followee_id=AUTHOR))
    assert await world.home(FAN) == [entry(world, others)]
    assert not await world.redis.exists(following_key(FAN))
