"""Home timeline reads in process, against the real Redis and services: the
number of network round trips per page (bounded, whatever the page size or
the number of people followed), and celebrities' tweets on deep pages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from redis.asyncio import Connection, RedisCluster
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.config import AuthSettings
from services.shared.observability.telemetry import STORE_SECONDS
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores import redis_client
from services.timeline.celebrities import CelebrityCopy
from services.timeline.hydrate import Hydrator
from services.timeline.reader import Reader
from services.timeline.settings import TimelineSettings
from services.timeline.store import TimelineStore
from services.tweets.client.tweet_cache import TweetCache
from services.tweets.client.viewer_flags import ViewerFlags
from services.users.client.lists import ListAudiences
from services.users.client.relations import RelationsCache
from tests.support.bulk import load_followers
from tests.support.users import Account, MakeAccount
from tests.support.wait import eventually

# services/timeline/reader.py states these: the page start (the reader's node),
# then the tweets with the reader's flags (one pipeline per node, in parallel),
# plus one for originals of retweets that are neither on the page nor hot in
# the process (a hot retweet's original rides the first lookup); which followees
# are celebrities comes from the server's copy of the set, or is one more
# round trip while that copy is not loaded. A round trip is one command or
# pipeline; on a cluster it sends at most one request to each node.
ROUND_TRIPS = 2
ROUND_TRIPS_WITH_OUTSIDE_ORIGINALS = 3
ROUND_TRIPS_WITHOUT_THE_COPY = 3
# The local stack runs the timeline with its default threshold.
CELEBRITY_THRESHOLD: int = TimelineSettings.model_fields["celebrity_threshold"].default


@dataclass
class Counts:
    redis: int = 0  # requests sent (on a cluster, up to one per node per round trip)
    rpcs: list[str] = field(default_factory=list)


def round_trips() -> float:
    """Redis commands and pipelines made so far, as the clients' latency
    histogram counts them (one sample per call, however many nodes it spans)."""
    return sum(s.value for metric in STORE_SECONDS.collect() for s in metric.samples
               if s.name.endswith("_count") and s.labels["store"] == "redis")


COUNTS = Counts()


class CountingConnection(Connection):
    """Counts what goes over the wire: one send per command or pipeline."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        COUNTS.redis += 1
        await super().send_packed_command(command, check_health)


class CountingCalls(grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        COUNTS.rpcs.append(details.method.decode() if isinstance(details.method, bytes)
                           else details.method)
        return await continuation(details, request)


@dataclass
class Rig:
    reader: Reader
    store: TimelineStore
    celebrities: CelebrityCopy  # refreshed by the tests (no job runs: it would add sends)
    tweets: tweets_pb2_grpc.TweetServiceAsyncStub
    users: users_pb2_grpc.UserServiceAsyncStub
    nodes: int  # Redis primaries


@pytest.fixture
async def rig(stack_env: dict[str, str], request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    recent_capacity = getattr(request, "param", 800)
    token = AuthSettings().internal_token.get_secret_value()
    counted = [CountingCalls()]
    users_channel = internal_channel(stack_env["USERS_ADDR"], token, interceptors=counted)
    tweets_channel = internal_channel(stack_env["TWEETS_ADDR"], token, interceptors=counted)
    redis = redis_client.connect(stack_env["REDIS_URL"], connection_class=CountingConnection)
    nodes = 1
    if isinstance(redis, RedisCluster):
        await redis.initialize()
        nodes = len(redis.get_primaries())
    store = TimelineStore(redis, capacity=800, inactive_after_seconds=600,
                          recent_capacity=recent_capacity)
    users, tweets = UsersClient(users_channel), TweetsClient(tweets_channel)
    hydrator = Hydrator(TweetCache(redis), ViewerFlags(redis), users, tweets)
    # Old enough never to age out during a test: the tests refresh it.
    celebrities = CelebrityCopy(store, refresh_seconds=1, max_age_seconds=3600)
    yield Rig(Reader(store, users, tweets, hydrator, RelationsCache(redis, users),
                     ListAudiences(redis, users.list_audience), celebrities=celebrities),
              store, celebrities,
              tweets_pb2_grpc.TweetServiceStub(tweets_channel),
              users_pb2_grpc.UserServiceStub(users_channel), nodes)
    await redis.aclose()
    await users_channel.close()
    await tweets_channel.close()


async def post(rig: Rig, who: Account, content: str) -> int:
    reply = await rig.tweets.CreateTweet(tweets_pb2.CreateTweetRequest(content=content),
                                         metadata=who.metadata)
    return reply.tweet.tweet_id


async def follow(rig: Rig, fan: Account, star: Account) -> None:
    await rig.users.FollowUser(users_pb2.FollowUserRequest(
        user_id=fan.user_id, target_user_id=star.user_id), metadata=fan.metadata)


async def read_all(rig: Rig, reader: Account, page_size: int) -> list[int]:
    ids: list[int] = []
    token = ""
    while True:
        page, token = await rig.reader.home(reader.user_id, reader.user_id, page_size, token)
        ids += [t.tweet_id for t in page]
        if not token:
            return ids


async def warm_read(rig: Rig, reader: Account, page_size: int, *,
                    copy: bool = True) -> tuple[int, list[str], int]:
    """Reads until a page needs no RPC (the first reads rebuild the timeline and
    materialise the reader's flags); returns that read's counts. With `copy`,
    the celebrity copy is brought up to date before each read (outside the
    counts), as the server's refresh job keeps it."""
    async def warm() -> tuple[int, list[str], int] | None:
        if copy:
            await rig.celebrities.refresh()
        COUNTS.redis, COUNTS.rpcs = 0, []
        before = round_trips()
        page, _ = await rig.reader.home(reader.user_id, reader.user_id, page_size, "")
        trips = int(round_trips() - before)
        assert COUNTS.redis <= trips * rig.nodes, f"{COUNTS.redis} sends in {trips} round trips"
        return None if COUNTS.rpcs else (trips, COUNTS.rpcs, len(page))
    return await eventually(warm, within=5, what="a page read without RPCs")


async def test_round_trips_per_page_do_not_grow_with_page_size_or_follows(
        rig: Rig, make_account: MakeAccount, monkeypatch: pytest.MonkeyPatch) -> None:
    authors = [await make_account("ra") for _ in range(6)]
    outsider = await make_account("ro")
    original = await post(rig, outsider, "retweeted from outside")
    for n, author in enumerate(authors):
        for k in range(6):
            await post(rig, author, f"author {n} tweet {k}")
    await rig.tweets.Retweet(tweets_pb2.RetweetRequest(tweet_id=original),
                             metadata=authors[0].metadata)
    plain, few, many = (await make_account("rp"), await make_account("rf"),
                        await make_account("rm"))
    for author in authors[1:3]:  # no retweets among them
        await follow(rig, plain, author)
    for author in authors[:2]:
        await follow(rig, few, author)
    for author in authors:
        await follow(rig, many, author)

    counts = {}
    for reader, follows, retweets in ((plain, 2, 0), (few, 2, 1), (many, 6, 1)):
        for page_size in (5, 30):
            trips, rpcs, shown = await warm_read(rig, reader, page_size)
            assert rpcs == [], f"a warm page made RPCs: {rpcs}"
            assert shown == min(page_size, follows * 6 + retweets)
            counts[(follows, retweets, page_size)] = trips
    # Warm pages hold the retweets hot: their originals ride the first lookup.
    assert counts == {key: ROUND_TRIPS for key in counts}, counts

    # Without the hot copies' guess, the originals cost a round trip more.
    monkeypatch.setattr(TweetCache, "peek", lambda self, ids: {})
    for reader in (few, many):
        for page_size in (5, 30):
            trips, _, _ = await warm_read(rig, reader, page_size)
            assert trips == ROUND_TRIPS_WITH_OUTSIDE_ORIGINALS


async def test_a_page_asks_redis_for_celebrities_while_the_copy_is_not_loaded(
        rig: Rig, make_account: MakeAccount) -> None:
    author, reader = await make_account("na"), await make_account("nr")
    for k in range(3):
        await post(rig, author, f"tweet {k}")
    await follow(rig, reader, author)
    trips, _, shown = await warm_read(rig, reader, 5, copy=False)
    assert (trips, shown) == (ROUND_TRIPS_WITHOUT_THE_COPY, 3)
    await rig.celebrities.refresh()
    trips, _, shown = await warm_read(rig, reader, 5)
    assert (trips, shown) == (ROUND_TRIPS, 3)


@pytest.mark.parametrize("rig", [10], indirect=True)  # a celebrity set of 10 entries
async def test_celebrity_tweets_appear_on_every_page_once(
        rig: Rig, make_account: MakeAccount, stack_env: dict[str, str]) -> None:
    star, friend, fan = (await make_account("cs"), await make_account("cf"),
                         await make_account("cr"))
    await asyncio.to_thread(load_followers, stack_env["PG_DSN"], star.user_id,
                            CELEBRITY_THRESHOLD + 1)
    await follow(rig, fan, star)
    await follow(rig, fan, friend)
    posted = []
    for k in range(16):  # interleaved, more than the celebrity set keeps
        posted.append(await post(rig, star, f"star {k}"))
        posted.append(await post(rig, friend, f"friend {k}"))
    newest_first = sorted(posted, reverse=True)

    async def fanned_out() -> bool:  # the friend's tweets reach the fan's cache
        await rig.celebrities.refresh()  # as the server's job does, every second
        return await read_all(rig, fan, 3) == newest_first
    await eventually(fanned_out, within=10, every=0.1, what="the friend's tweets fanned out")
    await rig.celebrities.refresh()
    for page_size in (3, 7):
        assert await read_all(rig, fan, page_size) == newest_first
    assert star.user_id in await rig.store.celebrities_among([star.user_id, friend.user_id])


async def test_a_new_celebritys_tweets_show_once_the_copy_is_refreshed(
        rig: Rig, make_account: MakeAccount, stack_env: dict[str, str]) -> None:
    star, fan = await make_account("ns"), await make_account("nf")
    await follow(rig, fan, star)
    before = await post(rig, star, "fanned out")

    async def fanned_out() -> bool:
        return await read_all(rig, fan, 5) == [before]
    await eventually(fanned_out, within=10, every=0.1, what="the tweet fanned out")
    await rig.celebrities.refresh()

    await asyncio.to_thread(load_followers, stack_env["PG_DSN"], star.user_id,
                            CELEBRITY_THRESHOLD + 1)
    # COPY publishes no follow events: drop the star's cached followers as they would.
    await rig.store.forget_followers(star.user_id)
    after = await post(rig, star, "left to read time")

    async def kept_for_read_time() -> bool:  # marked, and in the star's recent set
        recent = await rig.store.recent_pages([star.user_id], None, 5)
        return (await rig.store.celebrities_among([star.user_id]) == [star.user_id]
                and after in [e.tweet_id for e in recent[star.user_id].entries])
    await eventually(kept_for_read_time, within=10, every=0.1, what="the star marked")
    # The copy read before the star was marked answers the page (no Redis ask):
    # the new tweet waits for the refresh, as celebrities.py allows...
    assert await read_all(rig, fan, 5) == [before]
    await rig.celebrities.refresh()
    # ...which brings it in, the older (fanned out) one once.
    assert await read_all(rig, fan, 5) == [after, before]
