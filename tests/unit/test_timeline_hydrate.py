"""Hydrator (services/timeline/hydrate.py): timeline entries to the tweets a
viewer sees, from the real tweet cache and viewer flags on fakeredis, asking
the in-memory tweets service only for what the cache cannot answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from twitter.tweets.v1 import tweets_pb2

from services.timeline.hydrate import Hydrator
from services.tweets.client.tweet_cache import Rider, TweetCache
from services.tweets.client.tweet_views import Entries
from services.tweets.client.viewer_flags import ViewerFlags
from tests.fakes.clock import FakeClock
from tests.fakes.peers import FakeTweets, FakeUsers
from tests.fakes.redis import FakeRedisServer

VIEWER, ALICE, BOB, MUTED = 1, 2, 3, 4


@dataclass
class World:
    redis: FakeRedisServer
    cache: TweetCache
    flags: ViewerFlags
    users: FakeUsers
    tweets: FakeTweets
    hydrator: Hydrator

    async def cached(self, *ids: int) -> None:
        """The tweets in the cache, as the tweets service puts them there."""
        await self.cache.changed([self.tweets.versioned(t) for t in ids])

    async def flags_known(self, liked: tuple[int, ...] = (),
                          retweeted: tuple[int, ...] = ()) -> None:
        token = await self.flags.lease(VIEWER)
        assert token is not None
        assert await self.flags.store(VIEWER, token, liked, retweeted)

    async def page(self, ids: list[int], limit: int | None = None,
                   hidden: frozenset[int] = frozenset()) -> list[tweets_pb2.Tweet]:
        return await self.hydrator.tweets(ids, VIEWER, limit, hidden=hidden)

    def rpc_asked(self) -> list[int]:
        """Every id the tweets service was asked to hydrate."""
        return [t for ids, _ in self.tweets.called("hydrate") for t in ids]


@pytest.fixture
def world() -> World:
    server = FakeRedisServer()
    redis = server.client()
    cache, flags = TweetCache(redis), ViewerFlags(redis)
    users, tweets = FakeUsers(), FakeTweets(FakeClock())
    for user in (VIEWER, ALICE, BOB, MUTED):
        users.add_user(user)
    return World(server, cache, flags, users, tweets, Hydrator(cache, flags, users, tweets))


def ids_of(tweets: list[tweets_pb2.Tweet]) -> list[int]:
    return [t.tweet_id for t in tweets]


async def test_a_cached_page_asks_the_tweets_service_nothing(world: World) -> None:
    posted = [world.tweets.post(a) for a in (ALICE, BOB, ALICE)]
    await world.cached(*posted)
    await world.flags_known()
    page = await world.page(posted[::-1])
    assert ids_of(page) == posted[::-1]
    assert world.tweets.called("hydrate") == []
    assert [t.author.username for t in page] == ["user2", "user3", "user2"]


async def test_the_viewers_likes_and_retweets_are_filled_in(world: World) -> None:
    liked, retweeted, neither = (world.tweets.post(ALICE) for _ in range(3))
    await world.cached(liked, retweeted, neither)
    await world.flags_known(liked=(liked,), retweeted=(retweeted,))
    page = {t.tweet_id: t for t in await world.page([liked, retweeted, neither])}
    assert (page[liked].liked_by_viewer, page[liked].retweeted_by_viewer) == (True, False)
    assert (page[retweeted].liked_by_viewer, page[retweeted].retweeted_by_viewer) == (
        False, True)
    assert (page[neither].liked_by_viewer, page[neither].retweeted_by_viewer) == (False, False)


async def test_with_the_viewers_flags_unknown_the_tweets_service_answers_it_all(
        world: World) -> None:
    posted = [world.tweets.post(ALICE) for _ in range(3)]
    await world.cached(*posted)
    world.tweets.likes.add((VIEWER, posted[1]))
    page = await world.page(posted)
    assert ids_of(page) == posted
    assert world.rpc_asked() == posted
    assert [t.liked_by_viewer for t in page] == [False, True, False]


async def test_only_the_misses_are_asked_for_and_the_order_kept(world: World) -> None:
    posted = [world.tweets.post(ALICE) for _ in range(4)]
    await world.cached(posted[0], posted[2])
    await world.flags_known()
    assert ids_of(await world.page(posted)) == posted
    assert world.rpc_asked() == [posted[1], posted[3]]


async def test_an_empty_cache_sends_the_whole_page_to_the_tweets_service(world: World) -> None:
    posted = [world.tweets.post(ALICE) for _ in range(2)]
    await world.flags_known()
    assert ids_of(await world.page(posted)) == posted
    assert world.rpc_asked() == posted


async def test_deleted_and_missing_tweets_are_left_out(world: World) -> None:
    kept, deleted = world.tweets.post(ALICE), world.tweets.post(ALICE)
    world.tweets.delete(deleted)
    await world.cached(kept, deleted)
    await world.flags_known()
    assert ids_of(await world.page([deleted, kept, 987654321])) == [kept]
    assert world.rpc_asked() == [987654321]


async def test_each_tweet_appears_once(world: World) -> None:
    tweet = world.tweets.post(ALICE)
    await world.cached(tweet)
    await world.flags_known()
    assert ids_of(await world.page([tweet, tweet])) == [tweet]


@pytest.mark.parametrize("limit", [1, 2])
async def test_at_most_limit_tweets(world: World, limit: int) -> None:
    posted = [world.tweets.post(ALICE) for _ in range(3)]
    await world.cached(*posted)
    await world.flags_known()
    assert ids_of(await world.page(posted, limit)) == posted[:limit]


async def test_a_retweet_carries_its_original_from_the_cache(world: World) -> None:
    original = world.tweets.post(BOB, "the original")
    retweet = world.tweets.post(ALICE, retweet_of=original)
    await world.cached(original, retweet)
    await world.flags_known(liked=(original,))
    (shown,) = await world.page([retweet])
    assert shown.retweet_of.content == "the original"
    assert shown.retweet_of.author.user_id == BOB
    assert shown.retweet_of.liked_by_viewer  # flags are the original's
    assert world.tweets.called("hydrate") == []


async def test_a_retweet_whose_original_missed_is_fetched_whole(world: World) -> None:
    original = world.tweets.post(BOB, "the original")
    retweet = world.tweets.post(ALICE, retweet_of=original)
    await world.cached(retweet)
    await world.flags_known()
    (shown,) = await world.page([retweet])
    assert shown.retweet_of.content == "the original"
    assert world.rpc_asked() == [retweet]


async def test_a_retweet_of_a_deleted_tweet_is_left_out(world: World) -> None:
    original = world.tweets.post(BOB)
    retweet = world.tweets.post(ALICE, retweet_of=original)
    world.tweets.delete(original)
    await world.cached(original, retweet)
    await world.flags_known()
    assert await world.page([retweet]) == []


async def test_a_quote_embeds_its_quoted_tweet(world: World) -> None:
    quoted = world.tweets.post(BOB, "quoted words")
    quote = world.tweets.post(ALICE, quoted=quoted)
    await world.cached(quoted, quote)
    await world.flags_known()
    (shown,) = await world.page([quote])
    assert shown.quoted_tweet.content == "quoted words"
    assert not shown.quoted_tweet_unavailable


async def test_a_quote_of_a_deleted_tweet_shows_it_unavailable(world: World) -> None:
    quoted = world.tweets.post(BOB)
    quote = world.tweets.post(ALICE, quoted=quoted)
    world.tweets.delete(quoted)
    await world.cached(quoted, quote)
    await world.flags_known()
    (shown,) = await world.page([quote])
    assert shown.quoted_tweet_unavailable
    assert not shown.HasField("quoted_tweet")


@pytest.mark.parametrize("cached", [True, False])
async def test_hidden_authors_and_their_retweeted_tweets_are_left_out(
        world: World, cached: bool) -> None:
    shown = world.tweets.post(ALICE)
    theirs = world.tweets.post(MUTED)
    retweet_of_theirs = world.tweets.post(ALICE, retweet_of=theirs)
    if cached:
        await world.cached(shown, theirs, retweet_of_theirs)
        await world.flags_known()
    page = await world.page([retweet_of_theirs, theirs, shown], hidden=frozenset({MUTED}))
    assert ids_of(page) == [shown]


async def test_a_quote_of_a_hidden_author_shows_the_quoted_tweet_unavailable(
        world: World) -> None:
    quoted = world.tweets.post(MUTED, "not for you")
    quote = world.tweets.post(ALICE, quoted=quoted)
    await world.cached(quoted, quote)
    await world.flags_known()
    (shown,) = await world.page([quote], hidden=frozenset({MUTED}))
    assert shown.quoted_tweet_unavailable
    assert not shown.HasField("quoted_tweet")


async def test_with_redis_down_the_tweets_service_answers(world: World) -> None:
    posted = [world.tweets.post(ALICE) for _ in range(2)]
    await world.cached(*posted)
    await world.flags_known()
    world.redis.down()
    assert ids_of(await world.page(posted)) == posted
    assert world.rpc_asked() == posted


async def test_profiles_come_from_the_users_client(world: World) -> None:
    tweet = world.tweets.post(ALICE)
    await world.cached(tweet)
    await world.flags_known()
    world.users.users[ALICE].display_name = "Alice A."
    (shown,) = await world.page([tweet])
    assert shown.author.display_name == "Alice A."
    assert world.users.called("summaries") == [([ALICE],)]


async def test_a_page_of_hot_retweets_reads_their_originals_in_its_one_lookup(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    original = world.tweets.post(BOB, "the original")
    retweet = world.tweets.post(ALICE, retweet_of=original)
    await world.cached(original, retweet)
    await world.flags_known(liked=(original,))
    # The first read hears the entries' announcement in its own lookup, so
    # keeps them out of the hot tier (tweet_cache.py: they may predate it);
    # the second makes the retweet, then its original, hot.
    await world.page([retweet])
    await world.page([retweet])
    lookups: list[list[int]] = []
    get = world.cache.get

    async def counted(ids: Sequence[int], rider: Rider | None = None) -> Entries:
        lookups.append(list(ids))
        return await get(ids, rider)
    monkeypatch.setattr(world.cache, "get", counted)
    (shown,) = await world.page([retweet])
    assert lookups == [[retweet, original]]
    assert shown.retweet_of.content == "the original"
    assert shown.retweet_of.liked_by_viewer


async def test_a_hot_copy_of_a_since_deleted_retweet_guesses_but_shows_nothing(
        world: World) -> None:
    original = world.tweets.post(BOB, "the original")
    retweet = world.tweets.post(ALICE, retweet_of=original)
    await world.cached(original, retweet)
    await world.flags_known()
    await world.page([retweet])
    world.tweets.delete(retweet)
    # The change, a newer version: every process drops its hot copy at its next lookup.
    await world.cache.changed([world.tweets.versioned(retweet, version=2)])
    assert await world.page([retweet]) == []
    assert world.tweets.called("hydrate") == []
