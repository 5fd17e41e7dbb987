"""The first page of a user's tweets kept per process (services/tweets/user_pages.py),
against the real Cassandra and Redis: served from the copy while nothing
changed, never once something did, wherever the change was made."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import users_pb2

from services.shared.security.auth import set_caller
from services.shared.stores import redis_client
from services.shared.stores.redis_client import RedisClient
from services.tweets.client.tweet_cache import GENERATION, Rider
from services.tweets.domain import Kind
from services.tweets.repository import write_time
from services.tweets.servicer import TweetServicer
from services.tweets.user_pages import Listing, UserPages
from services.tweets.wiring import Components
from services.users.client.relations import Relations, RelationsCache
from tests.support.tweets import FlakyPublisher, post
from tests.support.users import Account, MakeAccount

if TYPE_CHECKING:
    from twitter.tweets.v1 import tweets_pb2_grpc
    from twitter.users.v1 import users_pb2_grpc

    Stub = tweets_pb2_grpc.TweetServiceAsyncStub
    Users = users_pb2_grpc.UserServiceAsyncStub

Replica = tuple[Components, FlakyPublisher]


async def first_page(parts: Components, author: Account, viewer: Account,
                     pages: UserPages | None = None) -> tuple[Listing, list[int]]:
    """What the listing was (from the copy or not) and the ids the page shows."""
    pages = pages or parts.pages
    listing = await pages.listing(pages.request(author.user_id, 20, ""))

    async def hydrate(ids: list[int], rider: Rider | None) -> list[tweets_pb2.Tweet]:
        return await parts.reads.tweets(ids, viewer.user_id, rider=rider)
    tweets, _ = await pages.read(listing, hydrate)
    return listing, [t.tweet_id for t in tweets]


async def index_unannounced(parts: Components, author: Account, tweet_id: int) -> None:
    """An index row written behind the pages' back (no writer does that): what
    the page shows then tells whether it came from the copy."""
    await parts.store.write([parts.store.statement(
        "index", (author.user_id, tweet_id, int(Kind.ORIGINAL), 0, write_time(tweet_id)))])


@pytest.fixture
async def parts(replica: Replica) -> Components:
    """The replica, its tweet cache started (a process keeps no copy before its
    first lookup has read the cache's generation)."""
    await replica[0].cache.get([1])
    return replica[0]


@pytest.fixture
async def redis(stack_env: dict[str, str]) -> AsyncIterator[RedisClient]:
    client = redis_client.connect(stack_env["REDIS_URL"])
    yield client
    await client.aclose()


async def test_the_first_page_comes_from_the_copy_until_the_user_changes(
        tweets: Stub, make_account: MakeAccount, parts: Components) -> None:
    author, viewer = await make_account("a"), await make_account("v")
    posted = [await post(tweets, author, f"t{i}") for i in range(3)]
    other = await post(tweets, viewer, "not the author's")
    _, shown = await first_page(parts, author, viewer)
    assert shown == [t.tweet_id for t in reversed(posted)]

    await index_unannounced(parts, author, other.tweet_id)
    listing, again = await first_page(parts, author, viewer)
    assert listing.copy is not None  # no Cassandra query for this page
    assert again == shown

    await parts.pages.changed([author.user_id])
    listing, fresh = await first_page(parts, author, viewer)
    assert listing.copy is None
    assert fresh == [other.tweet_id, *shown]


async def test_changes_made_by_another_process_show_at_once(
        tweets: Stub, make_account: MakeAccount, parts: Components) -> None:
    author, fan = await make_account("a"), await make_account("f")
    first = await post(tweets, author, "first")
    assert (await first_page(parts, author, fan))[1] == [first.tweet_id]

    # Each change through the stack's own processes; the replica's copy is
    # read again (to be checked) before every one.
    second = await post(tweets, author, "second")
    assert (await first_page(parts, author, fan))[1] == [second.tweet_id, first.tweet_id]
    reply = await post(tweets, author, "a reply", reply_to=first.tweet_id)
    assert (await first_page(parts, author, fan))[1] == [
        reply.tweet_id, second.tweet_id, first.tweet_id]
    await tweets.DeleteTweet(tweets_pb2.DeleteTweetRequest(tweet_id=second.tweet_id),
                             metadata=author.metadata)
    assert (await first_page(parts, author, fan))[1] == [reply.tweet_id, first.tweet_id]

    assert (await first_page(parts, fan, author))[1] == []
    retweet = (await tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=first.tweet_id),
                                    metadata=fan.metadata)).tweet
    assert (await first_page(parts, fan, author))[1] == [retweet.tweet_id]
    await tweets.Unretweet(tweets_pb2.UnretweetRequest(tweet_id=first.tweet_id),
                           metadata=fan.metadata)
    assert (await first_page(parts, fan, author))[1] == []


async def test_a_fill_racing_a_create_is_never_served(
        tweets: Stub, make_account: MakeAccount, parts: Components, redis: RedisClient) -> None:
    author, viewer = await make_account("a"), await make_account("v")
    old = await post(tweets, author, "old")
    made: list[tweets_pb2.Tweet] = []

    async def racing(user_id: int, size: int, token: str) -> tuple[list[int], str]:
        # The index is read, then a create lands (and resets the epoch) before
        # the page is kept.
        found = await parts.tweets.list_user_tweets(user_id, size, token)
        if not made:
            made.append(await post(tweets, author, "new"))
        return found

    pages = UserPages(racing, parts.reads, parts.cache, redis)
    _, shown = await first_page(parts, author, viewer, pages)
    assert shown == [old.tweet_id]  # read before the create: right for its time
    listing, now = await first_page(parts, author, viewer, pages)
    assert listing.copy is not None  # the copy was kept, under the epoch before the create
    assert now == [made[0].tweet_id, old.tweet_id]  # and its check refused it


async def test_a_new_cache_generation_retires_every_copy(
        tweets: Stub, make_account: MakeAccount, parts: Components, redis: RedisClient) -> None:
    author, viewer = await make_account("a"), await make_account("v")
    mine = await post(tweets, author, "mine")
    other = await post(tweets, viewer, "other")
    await first_page(parts, author, viewer)
    await index_unannounced(parts, author, other.tweet_id)

    # What a writer that could not reach Redis does once it can (lost_write).
    await redis.incr(GENERATION)
    listing, shown = await first_page(parts, author, viewer)
    assert listing.copy is not None
    assert shown == [other.tweet_id, mine.tweet_id]


async def test_the_viewers_relations_ride_the_lookup_of_the_pages_tweets(
        tweets: Stub, users: Users, make_account: MakeAccount, parts: Components,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of a user's tweets asks Redis for the viewer's blocks in the
    round trip that reads its tweets; on their own only when there was none
    (a user without tweets), and what they say still decides the page."""
    author, viewer, silent = (await make_account("a"), await make_account("v"),
                              await make_account("s"))
    posted = await post(tweets, author, "hello")
    servicer = TweetServicer(parts.tweets, parts.engagement, parts.reads, parts.visibility,
                             parts.bookmarks, parts.pages)
    asked_alone: list[int] = []
    of = RelationsCache.of

    async def counted(self: RelationsCache, user_id: int) -> Relations:
        asked_alone.append(user_id)
        return await of(self, user_id)
    monkeypatch.setattr(RelationsCache, "of", counted)

    async def page(of_user: Account) -> list[int]:
        set_caller(viewer.user_id)
        response = await servicer.ListUserTweets(tweets_pb2.ListUserTweetsRequest(
            user_id=of_user.user_id, page_size=20), None)  # type: ignore[arg-type]
        return [t.tweet_id for t in response.tweets]

    assert await page(author) == [posted.tweet_id]
    assert asked_alone == []
    assert await page(silent) == []
    assert asked_alone == [viewer.user_id]

    await users.BlockUser(users_pb2.BlockUserRequest(username=viewer.username),
                          metadata=author.metadata)
    assert await page(author) == []  # blocked: as if the author did not exist
