"""The search service layer (services/search/service.py) and its indexer
(indexer.py) over an in-memory backend: how a query reaches the backend,
tokens, hidden users, trends, and what events write to the index."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events

from services.search.backend import Engagement, TweetDoc, TweetFilter, UserDoc
from services.search.indexer import Indexer
from services.search.service import MAX_TRENDS, Search
from services.search.trends import TrendCount
from services.shared.contracts import subject
from services.shared.errors import InvalidArgument
from services.shared.messaging.consumer import Handlers
from services.shared.snowflake.ids import IdGenerator
from tests.fakes.peers import FakeTweets, FakeUsers
from tests.fakes.relations import FakeRelationsCache
from tests.fakes.search import FakeSearchBackend, FakeTrends

VIEWER, ALICE, BOB, TROLL = 1, 2, 3, 4


def fields(exc: InvalidArgument) -> set[str]:
    return {v.field for v in exc.violations}


class World:
    def __init__(self) -> None:
        self.backend = FakeSearchBackend()
        self.trends = FakeTrends()
        self.relations = FakeRelationsCache()
        users, tweets = FakeUsers(), FakeTweets()
        users.add_user(ALICE, "alice")
        users.add_user(BOB, "bob")
        # t[0] by Alice, t[1] by Bob, t[2] by the troll, t[3] by Alice.
        self.t = [tweets.post(author) for author in (ALICE, BOB, TROLL, ALICE)]
        self.search = Search(self.backend, users, tweets, self.trends, self.relations)


@pytest.fixture
def w() -> World:
    return World()


async def test_a_query_reaches_the_backend_with_usernames_resolved(w: World) -> None:
    w.backend.tweet_hits = w.t[:2]
    tweets, token = await w.search.tweets(VIEWER, 'cats "big dogs" #Pets @Alice from:bob',
                                          10, "")
    assert [t.tweet_id for t in tweets] == w.t[:2]
    assert token == ""
    (flt,) = w.backend.filters
    assert flt == TweetFilter('cats "big dogs"', ["pets"], [ALICE], [BOB])


async def test_an_unknown_user_in_a_query_matches_nothing_without_asking_the_backend(
        w: World) -> None:
    w.backend.tweet_hits = w.t[:1]
    assert await w.search.tweets(VIEWER, "hello from:nobody", 10, "") == ([], "")
    assert await w.search.tweets(VIEWER, "@ghost", 10, "") == ([], "")
    assert w.backend.filters == []


async def test_tweets_by_users_blocked_either_way_are_left_out(w: World) -> None:
    w.backend.tweet_hits = w.t[:3]
    w.relations.block(VIEWER, TROLL)
    w.relations.block(BOB, VIEWER)
    tweets, _ = await w.search.tweets(VIEWER, "anything", 10, "")
    assert [t.tweet_id for t in tweets] == w.t[:1]


async def test_results_page_with_a_token_bound_to_the_query(w: World) -> None:
    w.backend.tweet_hits = w.t
    first, token = await w.search.tweets(VIEWER, "cats", 3, "")
    assert token
    second, last = await w.search.tweets(VIEWER, "cats", 3, token)
    assert [t.tweet_id for t in first + second] == w.t
    assert last == ""
    with pytest.raises(InvalidArgument) as caught:
        await w.search.tweets(VIEWER, "dogs", 3, token)  # another query's token
    assert "page_token" in fields(caught.value)


@pytest.mark.parametrize("q", ["", "   ", "x" * 600])
async def test_unsearchable_tweet_queries_name_the_q_field(w: World, q: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await w.search.tweets(VIEWER, q, 10, "")
    assert fields(caught.value) == {"q"}
    assert w.backend.filters == []


async def test_user_search_hides_blocked_users_and_checks_its_query(w: World) -> None:
    w.backend.user_hits = [UserDoc(ALICE, "alice"), UserDoc(TROLL, "troll"),
                           UserDoc(BOB, "bob")]
    w.relations.block(TROLL, VIEWER)
    users, token = await w.search.users(VIEWER, "  a  ", 10, "")
    assert [u.user_id for u in users] == [ALICE, BOB]
    assert token == ""
    for q in ("", "  ", "x" * 101, "bell\x07"):
        with pytest.raises(InvalidArgument) as caught:
            await w.search.users(VIEWER, q, 10, "")
        assert fields(caught.value) == {"q"}, q


async def test_user_search_pages(w: World) -> None:
    w.backend.user_hits = [UserDoc(i, f"user{i}") for i in range(100, 105)]
    seen, token = [], ""
    while True:
        users, token = await w.search.users(VIEWER, "user", 2, token)
        seen += [u.user_id for u in users]
        if not token:
            break
    assert seen == list(range(100, 105))
    with pytest.raises(InvalidArgument):
        await w.search.users(VIEWER, "user", -1, "")


async def test_trends_clamp_their_limit_and_add_a_places_own(w: World) -> None:
    w.trends.tops = {"": [TrendCount(f"t{i}", 100 - i) for i in range(60)],
                     "FR": [TrendCount("fromage", 9)]}
    page = await w.search.trends(0)
    assert len(page.top) == 10
    assert (page.place, page.place_top) == ("", [])
    page = await w.search.trends(500, "fr")
    assert len(page.top) == MAX_TRENDS
    assert (page.place, page.place_top) == ("FR", [TrendCount("fromage", 9)])
    assert page.window_end - page.window_start == (
        datetime.fromtimestamp(60 * 60, tz=UTC) - datetime.fromtimestamp(0, tz=UTC))
    with pytest.raises(InvalidArgument) as caught:
        await w.search.trends(-1)
    assert fields(caught.value) == {"limit"}
    with pytest.raises(InvalidArgument):
        await w.search.trends(10, "Atlantis")


# --- the indexer -------------------------------------------------------------


class Indexing:
    def __init__(self) -> None:
        self.backend = FakeSearchBackend()
        self.trends = FakeTrends()
        self.indexer = Indexer(self.backend, self.trends, max_delay=0.001)
        self.handlers = self.indexer.register(Handlers())
        self.ids = IdGenerator.fixed(3)

    async def deliver(self, *events: Message) -> None:
        """Delivers events at once (as a consumer's concurrent handlers do)."""
        await asyncio.gather(*(self.handlers[subject(type(e))](
            subject(type(e)), e.SerializeToString(), _no_progress) for e in events))


async def _no_progress() -> None:
    pass


def at(seconds: float) -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def test_the_indexer_handles_every_tweet_and_user_event_it_needs() -> None:
    handlers = Indexing().handlers
    for event in (tweet_events.TweetCreated, tweet_events.TweetEdited,
                  tweet_events.TweetDeleted, tweet_events.TweetLiked,
                  tweet_events.TweetUnliked, tweet_events.TweetRetweeted,
                  tweet_events.TweetUnretweeted, user_events.UserCreated,
                  user_events.UserUpdated, user_events.FollowCreated,
                  user_events.FollowDeleted):
        assert subject(event) in handlers


async def test_a_new_tweet_is_indexed_with_lower_case_tags_and_counted_in_trends() -> None:
    x = Indexing()
    tweet_id = x.ids.next_id()
    await x.deliver(tweet_events.TweetCreated(
        tweet_id=tweet_id, author_user_id=ALICE, content="Hi #Cats", hashtags=["Cats"],
        mention_user_ids=[BOB], place="FR"))
    doc = x.backend.tweets[tweet_id]
    assert (doc.author_id, doc.content, list(doc.hashtags), list(doc.mention_ids)) == (
        ALICE, "Hi #Cats", ["cats"], [BOB])
    ((tags, user, _, place),) = x.trends.recorded
    assert (tags, user, place) == (["Cats"], ALICE, "FR")


async def test_a_retweet_indexes_nothing_and_a_tweet_without_tags_counts_no_trend() -> None:
    x = Indexing()
    await x.deliver(tweet_events.TweetCreated(
        tweet_id=x.ids.next_id(), author_user_id=ALICE, kind=tweets_pb2.TWEET_KIND_RETWEET))
    assert x.backend.writes == []
    await x.deliver(tweet_events.TweetCreated(tweet_id=x.ids.next_id(), author_user_id=ALICE,
                                              content="plain"))
    assert x.trends.recorded == []
    assert len(x.backend.tweets) == 1


async def test_an_edit_arriving_before_an_older_one_in_a_batch_is_kept() -> None:
    x = Indexing()
    tweet_id = x.ids.next_id()
    await x.deliver(
        tweet_events.TweetEdited(tweet_id=tweet_id, author_user_id=ALICE, revision=3,
                                 content="newest"),
        tweet_events.TweetEdited(tweet_id=tweet_id, author_user_id=ALICE, revision=2,
                                 content="older"))
    assert x.backend.tweets[tweet_id].content == "newest"
    assert len(x.backend.writes) == 1  # one write for the batch


async def test_counts_coalesce_per_tweet_newest_observation_wins() -> None:
    x = Indexing()
    await x.deliver(
        tweet_events.TweetLiked(tweet_id=10, like_count=5, occurred_at=at(100)),
        tweet_events.TweetUnliked(tweet_id=10, like_count=4, occurred_at=at(90)),  # older
        tweet_events.TweetRetweeted(tweet_id=10, retweet_count=2, occurred_at=at(95)),
        tweet_events.TweetLiked(tweet_id=11, like_count=1, occurred_at=at(50)))
    assert x.backend.engagement == {10: Engagement(like_count=5, retweet_count=2),
                                    11: Engagement(like_count=1, retweet_count=None)}
    assert [kind for kind, _ in x.backend.writes] == ["engagement"]


async def test_deletes_users_and_follower_counts_reach_the_backend() -> None:
    x = Indexing()
    x.backend.tweets[10] = TweetDoc(10, BOB, "gone soon", [], [], datetime.now(UTC))
    await x.deliver(
        tweet_events.TweetDeleted(tweet_id=10),
        user_events.UserUpdated(user_id=ALICE, username="alice", display_name="Alice",
                                bio="hi"),
        user_events.FollowCreated(followee_id=ALICE, followee_follower_count=7,
                                  occurred_at=at(10)),
        user_events.FollowDeleted(followee_id=ALICE, followee_follower_count=6,
                                  occurred_at=at(5)))  # older: the 7 stands
    assert 10 not in x.backend.tweets
    assert x.backend.users[ALICE] == UserDoc(ALICE, "alice", "Alice", "hi", "")
    assert x.backend.followers == {ALICE: 7}


async def test_a_failed_backend_write_fails_the_handler_so_the_event_is_redelivered() -> None:
    x = Indexing()

    async def down(_: object) -> None:
        raise ConnectionError("the index is down")

    x.backend.delete_tweets = down  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        await x.deliver(tweet_events.TweetDeleted(tweet_id=10))
