"""A new tweet in the tweet cache and in its create's answer
(services/tweets/reads.py `created`, `created_view`): the answer is rendered from
the record just written, as a read through the cache would show it, without a
cache round trip; and a create adds no entry to the invalidation stream, which
every reader would otherwise parse (nothing can be cached of a tweet before it
exists). On fakeredis; the same end to end is tests/integration/test_tweet_cache.py."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from twitter.users.v1 import users_pb2

from services.shared.snowflake.ids import IdGenerator, id_time
from services.tweets.client import tweet_cache
from services.tweets.client.tweet_cache import INVALIDATIONS, TweetCache, Versioned
from services.tweets.client.viewer_flags import ViewerFlags
from services.tweets.domain import Kind, Revision, TweetRecord
from services.tweets.reads import CachedReads
from services.tweets.repository import write_time
from services.tweets.user_pages import UserPages, epoch_key
from services.tweets.users import UsersClient
from services.tweets.views import cached_entry
from tests.fakes.redis import FakeRedisServer
from tests.fakes.tweets import FakeMedia, FakeTweetStore

ALICE = 101
IDS = IdGenerator.fixed(9)


class Profiles(UsersClient):
    """The users service's summaries, as the shared client would return them."""

    def __init__(self) -> None:  # no channel: profiles live here
        pass

    async def summaries(self, user_ids: Iterable[int]) -> dict[int, users_pb2.UserSummary]:
        return {u: users_pb2.UserSummary(user_id=u, username=f"user{u}", display_name="Al")
                for u in user_ids}


def record(*, media: list[int] | None = None, quoted: int = 0, reply_to: int = 0) -> TweetRecord:
    tweet_id = IDS.next_id()
    created = id_time(tweet_id)
    return TweetRecord(
        tweet_id=tweet_id, user_id=ALICE, kind=Kind.REPLY if reply_to else Kind.ORIGINAL,
        current=Revision(1, "fresh #words", ["words"], [], [], created), media_ids=media or [],
        created_at=created, edited_at=None, like_count=0, retweet_count=0, reply_count=0,
        reply_to=reply_to, retweet_of=0, deleted=False, place="", quoted_tweet_id=quoted)


@pytest.fixture
def server() -> FakeRedisServer:
    return FakeRedisServer()


def reads_over(server: FakeRedisServer) -> CachedReads:
    """One process's reads, with its own hot tier over the shared Redis."""
    return CachedReads(TweetCache(server.client()), ViewerFlags(server.client()),
                       FakeTweetStore(), FakeMedia(), Profiles())


def lookups() -> float:
    return sum(s.value for m in tweet_cache.LOOKUPS.collect() for s in m.samples
               if s.name.endswith("_total"))


async def announced(server: FakeRedisServer) -> list[bytes]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await server.client().xrange(
        INVALIDATIONS)  # type: ignore[assignment]
    return [fields[b"ids"] for _, fields in entries]


@pytest.mark.parametrize("reply_to", [0, 77])
async def test_the_answer_is_what_a_read_through_the_cache_shows_without_reading_it(
        server: FakeRedisServer, reply_to: int) -> None:
    reads = reads_over(server)
    tweet = record(reply_to=reply_to)
    await reads.created(tweet)
    before = lookups()
    shown = await reads.created_view(tweet)
    assert lookups() == before  # no cache lookup (and so no round trip) for the answer
    assert shown is not None
    assert (shown.tweet_id, shown.content, shown.author.username, shown.reply_to_tweet_id) == (
        tweet.tweet_id, "fresh #words", f"user{ALICE}", reply_to)
    # Another process reads the same through the cache.
    elsewhere = await reads_over(server).tweets([tweet.tweet_id], ALICE, known=(set(), set()))
    assert elsewhere == [shown]


async def test_media_and_quotes_are_read_back_for_their_urls_and_embedded_tweet(
        server: FakeRedisServer) -> None:
    reads = reads_over(server)
    assert await reads.created_view(record(media=[5])) is None
    assert await reads.created_view(record(quoted=IDS.next_id())) is None


async def test_a_create_adds_no_invalidation_but_a_change_does(server: FakeRedisServer) -> None:
    reads, other = reads_over(server), reads_over(server)
    tweet = record()
    await reads.created(tweet)
    assert await announced(server) == []
    # The entry is there for every process, hot once read.
    assert (await other.entries([tweet.tweet_id]))[tweet.tweet_id].tweet.content == "fresh #words"
    # A later change of it still reaches every hot tier.
    edited = replace(tweet, current=Revision(2, "edited", [], [], [], datetime.now(UTC)))
    await reads._cache.changed([(tweet.tweet_id, Versioned(write_time(tweet.tweet_id) + 1,
                                                           cached_entry(edited, {})))])
    assert await announced(server) == [str(tweet.tweet_id).encode()]
    assert (await other.entries([tweet.tweet_id]))[tweet.tweet_id].tweet.content == "edited"


def pages_over(server: FakeRedisServer) -> tuple[UserPages, CachedReads]:
    reads = reads_over(server)

    async def listed(user_id: int, size: int, token: str) -> tuple[list[int], str]:
        return [], ""
    return UserPages(listed, reads, reads._cache, server.client()), reads


async def test_a_create_resets_its_authors_page_epoch_with_the_cache_fill(
        server: FakeRedisServer) -> None:
    pages, _ = pages_over(server)
    redis = server.client()
    await redis.set(epoch_key(ALICE), b"1")
    tweet = record()
    await pages.created(tweet, {ALICE})
    assert await redis.get(epoch_key(ALICE)) is None  # copies of Alice's page retired
    assert (await reads_over(server).entries([tweet.tweet_id]))[tweet.tweet_id].tweet.content \
        == "fresh #words"
    # A tweet with media is read back for its URLs; the epoch goes all the same.
    await redis.set(epoch_key(ALICE), b"2")
    await pages.created(record(media=[5]), {ALICE})
    assert await redis.get(epoch_key(ALICE)) is None


async def test_when_redis_fails_the_create_retires_copies_by_a_new_generation(
        server: FakeRedisServer) -> None:
    pages, reads = pages_over(server)
    await reads._cache.get([1])  # started: its generation read
    before = reads._cache.generation
    server.down()
    await pages.created(record(), {ALICE})
    server.up()
    await reads._cache.retry_pending()
    after = reads._cache.generation
    assert before is not None
    assert after is not None
    assert after > before
