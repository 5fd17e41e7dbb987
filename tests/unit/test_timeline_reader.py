"""Reader (services/timeline/reader.py) with the real store, caches and
hydrator on fakeredis and in-memory users and tweets services: home pages and
their cursors, the rebuild of an inactive home, celebrities merged at read
time, blocks and mutes, mentions, list timelines, and the fallback to the
tweets service when Redis is down."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events
from twitter.users.v1 import lists_pb2

from services.shared.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from services.shared.paging.cursor import LastId
from services.shared.resilience.breaker import CircuitBreaker
from services.timeline.domain import SLACK, Entry, Timeline
from services.timeline.fanout import Fanout
from services.timeline.hydrate import Hydrator
from services.timeline.reader import REBUILD_PER_FOLLOWEE, Reader
from services.timeline.store import (
    TimelineStore,
    active_key,
    following_key,
    home_key,
    mentions_key,
    recent_key,
)
from services.tweets.client.tweet_cache import TweetCache
from services.tweets.client.viewer_flags import ViewerFlags
from services.users.client.lists import ListAudiences, audience_key
from services.users.client.lists import encode as encode_audience
from services.users.client.relations import RelationsCache, encode, relations_key
from tests.fakes.clock import FakeClock
from tests.fakes.peers import FakeTweets, FakeUsers
from tests.fakes.redis import FakeRedisServer

ME, FRIEND, OTHER, STAR = 1, 2, 3, 9
CAPACITY = 50
RECENT = 10


@dataclass
class World:
    redis: FakeRedisServer
    store: TimelineStore
    users: FakeUsers
    tweets: FakeTweets
    breaker: CircuitBreaker
    reader: Reader

    async def home(self, page_size: int = 10, token: str = "",
                   user: int = ME) -> tuple[list[int], str]:
        tweets, next_token = await self.reader.home(user, user, page_size, token)
        return [t.tweet_id for t in tweets], next_token

    async def all_home(self, page_size: int, user: int = ME) -> list[list[int]]:
        """Every page of the user's home timeline, following the tokens."""
        pages, token = [], ""
        while True:
            ids, token = await self.home(page_size, token, user)
            pages.append(ids)
            if not token:
                return pages

    async def celebrity(self, author: int) -> None:
        await self.store.mark_celebrity(author, True)


@pytest.fixture
def world() -> World:
    server = FakeRedisServer()
    redis = server.client()
    store = TimelineStore(redis, capacity=CAPACITY, inactive_after_seconds=3600,
                          recent_capacity=RECENT)
    users, tweets = FakeUsers(), FakeTweets(FakeClock())
    for user in (ME, FRIEND, OTHER, STAR):
        users.add_user(user)
    hydrator = Hydrator(TweetCache(redis), ViewerFlags(redis), users, tweets)
    breaker = CircuitBreaker("test_timeline", failures=1, reset_seconds=3600)
    reader = Reader(store, users, tweets, hydrator, RelationsCache(redis, users),
                    ListAudiences(redis, users.list_audience), breaker=breaker)
    return World(server, store, users, tweets, breaker, reader)


def newest_first(ids: list[int]) -> list[int]:
    return sorted(ids, reverse=True)


# Who may read -----------------------------------------------------------------------------


@pytest.mark.parametrize("read", ["home", "mentions"])
async def test_only_the_owner_reads_their_timelines(world: World, read: str) -> None:
    with pytest.raises(PermissionDenied):
        await getattr(world.reader, read)(OTHER, ME, 10, "")


async def test_a_garbage_page_token_is_invalid_argument(world: World) -> None:
    with pytest.raises(InvalidArgument):
        await world.home(10, "not-a-token")


async def test_another_users_page_token_is_invalid_argument(world: World) -> None:
    world.users.follow(OTHER, FRIEND)
    for _ in range(5):
        world.tweets.post(FRIEND)
    _, token = await world.home(2, user=OTHER)
    assert token
    with pytest.raises(InvalidArgument):
        await world.home(2, token, user=ME)


async def test_a_mentions_token_does_not_page_home(world: World) -> None:
    token = Timeline.MENTIONS.cursor.encode(ME, LastId(world.tweets.post(FRIEND)))
    with pytest.raises(InvalidArgument):
        await world.home(2, token)


# Home: rebuild, paging, warm reads ------------------------------------------------------


async def test_the_first_read_rebuilds_the_home_from_followees_and_own_tweets(
        world: World) -> None:
    world.users.follow(ME, FRIEND)
    mine = [world.tweets.post(ME), world.tweets.post(ME)]
    friends = [world.tweets.post(FRIEND) for _ in range(3)]
    world.tweets.post(OTHER)  # not followed
    ids, token = await world.home(20)
    assert ids == newest_first(mine + friends)
    assert token == ""
    assert await world.store.is_active(ME)
    asked = {args[0] for args in world.tweets.called("recent_ids")}
    assert asked == {ME, FRIEND}


async def test_a_warm_home_page_asks_no_peer(world: World) -> None:
    world.users.follow(ME, FRIEND)
    posted = [world.tweets.post(FRIEND) for _ in range(3)]
    await world.home()
    world.users.calls.clear()
    world.tweets.calls.clear()
    assert (await world.home())[0] == newest_first(posted)
    assert world.tweets.called("recent_ids") == []
    assert world.users.called("following") == []


async def test_an_expired_home_is_rebuilt_with_what_was_posted_meanwhile(world: World) -> None:
    world.users.follow(ME, FRIEND)
    first = world.tweets.post(FRIEND)
    assert (await world.home())[0] == [first]
    # Inactive long enough for the marker to expire: fanout skipped this user.
    later = world.tweets.post(FRIEND)
    await world.redis.client().delete(active_key(ME))
    assert (await world.home())[0] == [later, first]


async def test_a_tweet_fanned_out_while_the_rebuild_reads_the_tweets_service_is_kept(
        world: World) -> None:
    # Stored after the rebuild's read, fanned out before the rebuilt home was
    # marked: the tweets the HA chaos run lost (issue 29).
    world.users.follow(ME, FRIEND)
    first = world.tweets.post(FRIEND)
    racing: list[int] = []

    async def post_and_fan_out() -> None:
        racing.append(world.tweets.post(FRIEND))
        await fanout(world).tweet_created(tweet_events.TweetCreated(
            tweet_id=racing[0], author_user_id=FRIEND))
    world.tweets.while_answering.append(post_and_fan_out)
    await world.home()
    assert racing
    world.tweets.calls.clear()
    assert (await world.home())[0] == [racing[0], first]
    assert world.tweets.called("recent_ids") == []  # from the materialised home


async def test_a_filling_home_is_rebuilt_not_served(world: World) -> None:
    # A rebuild that died half-way: its marker still filling, the home holding
    # only what fanout wrote meanwhile.
    world.users.follow(ME, FRIEND)
    posted = [world.tweets.post(FRIEND) for _ in range(3)]
    await world.redis.client().set(active_key(ME), "filling", ex=60)
    await world.store.add([home_key(ME)], Entry(posted[-1], FRIEND))
    assert (await world.home())[0] == newest_first(posted)
    assert await world.redis.client().get(active_key(ME)) == b"1"


async def test_the_rebuild_leaves_celebrities_out_of_the_materialised_home(
        world: World) -> None:
    world.users.follow(ME, FRIEND, STAR)
    await world.celebrity(STAR)
    world.tweets.post(STAR)
    world.tweets.post(FRIEND)
    await world.home()
    cached: list[bytes] = await world.redis.client().zrange(  # type: ignore[assignment]
        home_key(ME), 0, -1)
    assert {Entry.parse(m).author_id for m in cached} == {FRIEND}


async def test_the_rebuild_reads_a_bounded_number_per_followee(world: World) -> None:
    world.users.follow(ME, FRIEND)
    await world.home()
    assert (FRIEND, REBUILD_PER_FOLLOWEE, 0) in world.tweets.called("recent_ids")


@pytest.mark.parametrize("page_size", [1, 3, 7, 25])
async def test_paging_walks_every_tweet_once_newest_first(world: World, page_size: int) -> None:
    world.users.follow(ME, FRIEND, OTHER)
    posted = [world.tweets.post(author) for author in [FRIEND, OTHER, ME] * 7]
    pages = await world.all_home(page_size)
    assert [t for page in pages for t in page] == newest_first(posted)
    assert all(len(page) == page_size for page in pages[:-1])


async def test_pages_stay_put_when_new_tweets_arrive_between_them(world: World) -> None:
    world.users.follow(ME, FRIEND)
    older = [world.tweets.post(FRIEND) for _ in range(6)]
    first, token = await world.home(3)
    newer = world.tweets.post(FRIEND)
    await world.store.add_to_active_homes([ME], Entry(newer, FRIEND))
    second, _ = await world.home(3, token)
    assert first + second == newest_first(older)
    assert (await world.home(3))[0][0] == newer


async def test_deleted_tweets_do_not_leave_a_page_short(world: World) -> None:
    world.users.follow(ME, FRIEND)
    posted = [world.tweets.post(FRIEND) for _ in range(12)]
    await world.home()
    for tweet_id in newest_first(posted)[:SLACK // 2]:
        world.tweets.delete(tweet_id)
    ids, token = await world.home(5)
    assert ids == newest_first(posted)[SLACK // 2:][:5]
    assert token


async def test_a_page_of_only_deleted_tweets_still_pages_on(world: World) -> None:
    world.users.follow(ME, FRIEND)
    posted = [world.tweets.post(FRIEND) for _ in range(1 + SLACK + 5)]
    await world.home()
    deleted = newest_first(posted)[:1 + SLACK]
    for tweet_id in deleted:
        world.tweets.delete(tweet_id)
    ids, token = await world.home(1)
    assert ids == []
    assert token  # past the last candidate: the older tweets still come
    rest = []
    while token:
        page, token = await world.home(1, token)
        rest += page
    assert rest == newest_first(posted)[1 + SLACK:]


async def test_a_home_with_nothing_in_it_has_no_next_page(world: World) -> None:
    assert await world.home() == ([], "")


# Follow and unfollow, through the fanout worker's handlers --------------------------------


def fanout(world: World) -> Fanout:
    return Fanout(world.store, world.users, world.tweets, celebrity_threshold=100)


async def test_a_follow_shows_the_followees_tweets_on_the_next_page(world: World) -> None:
    world.users.follow(ME, FRIEND)
    friend = world.tweets.post(FRIEND)
    other = [world.tweets.post(OTHER) for _ in range(2)]
    assert (await world.home())[0] == [friend]
    world.users.follow(ME, OTHER)
    await fanout(world).follow_created(user_events.FollowCreated(
        follower_id=ME, followee_id=OTHER, followee_follower_count=1))
    world.tweets.calls.clear()
    assert (await world.home())[0] == newest_first([friend, *other])
    assert world.tweets.called("recent_ids") == []  # backfilled, not rebuilt


async def test_an_unfollow_takes_the_followees_tweets_off_the_next_page(world: World) -> None:
    world.users.follow(ME, FRIEND, OTHER)
    friend = world.tweets.post(FRIEND)
    world.tweets.post(OTHER)
    await world.home()
    world.users.unfollow(ME, OTHER)
    await fanout(world).follow_deleted(user_events.FollowDeleted(follower_id=ME,
                                                                 followee_id=OTHER))
    assert (await world.home())[0] == [friend]
    assert await world.reader.following(ME) == [FRIEND]


# Celebrities, merged at read time ---------------------------------------------------------


async def test_a_followed_celebritys_tweets_are_merged_in_order(world: World) -> None:
    world.users.follow(ME, FRIEND, STAR)
    await world.celebrity(STAR)
    posted = [world.tweets.post(a) for a in [FRIEND, STAR, STAR, FRIEND, STAR]]
    ids, _ = await world.home(20)
    assert ids == newest_first(posted)


async def test_a_celebritys_recent_set_is_rebuilt_once_then_read_from_redis(
        world: World) -> None:
    world.users.follow(ME, STAR)
    await world.celebrity(STAR)
    posted = [world.tweets.post(STAR) for _ in range(3)]
    await world.home()
    assert [a for a in world.tweets.called("recent_ids") if a[0] == STAR] == [(STAR, RECENT, 0)]
    world.tweets.calls.clear()
    assert (await world.home())[0] == newest_first(posted)
    assert world.tweets.called("recent_ids") == []


async def test_a_celebritys_tweet_fanned_out_after_the_rebuild_is_seen(world: World) -> None:
    world.users.follow(ME, STAR)
    await world.celebrity(STAR)
    first = world.tweets.post(STAR)
    await world.home()
    later = world.tweets.post(STAR)
    await world.store.add_recent(STAR, Entry(later, STAR))  # what fanout does
    assert (await world.home())[0] == [later, first]


async def test_celebrity_tweets_appear_on_every_page_once_beyond_the_recent_set(
        world: World) -> None:
    world.users.follow(ME, FRIEND, STAR)
    await world.celebrity(STAR)
    posted = [world.tweets.post(a) for a in [STAR, STAR, FRIEND] * 12]  # 24 > RECENT
    pages = await world.all_home(4)
    assert [t for page in pages for t in page] == newest_first(posted)
    # Deep pages asked the tweets service for exactly the range beyond the set.
    assert any(before for author, _, before in world.tweets.called("recent_ids")
               if author == STAR)


async def test_unfollowing_a_celebrity_stops_the_merge(world: World) -> None:
    world.users.follow(ME, FRIEND, STAR)
    await world.celebrity(STAR)
    world.tweets.post(STAR)
    friend = world.tweets.post(FRIEND)
    await world.home()
    world.users.unfollow(ME, STAR)
    await world.store.forget_following(ME)  # what the follow-deleted event does
    assert (await world.home())[0] == [friend]


# Blocks and mutes ------------------------------------------------------------------------


@pytest.mark.parametrize("relation", ["mute", "block", "blocked_by"])
async def test_muted_and_blocked_authors_are_left_out(world: World, relation: str) -> None:
    world.users.follow(ME, FRIEND, OTHER)
    shown = world.tweets.post(FRIEND)
    world.tweets.post(OTHER)
    if relation == "mute":
        world.users.mute(ME, OTHER)
    elif relation == "block":
        world.users.block(ME, OTHER)
    else:
        world.users.block(OTHER, ME)
    assert (await world.home())[0] == [shown]


async def test_retweets_of_a_muted_authors_tweets_are_left_out(world: World) -> None:
    world.users.follow(ME, FRIEND)
    original = world.tweets.post(OTHER)
    world.tweets.post(FRIEND, retweet_of=original)
    own = world.tweets.post(FRIEND)
    world.users.mute(ME, OTHER)
    assert (await world.home())[0] == [own]


async def test_a_muted_celebrity_is_left_out_of_the_merge(world: World) -> None:
    world.users.follow(ME, FRIEND, STAR)
    await world.celebrity(STAR)
    world.tweets.post(STAR)
    friend = world.tweets.post(FRIEND)
    world.users.mute(ME, STAR)
    assert (await world.home())[0] == [friend]


async def test_tweets_of_muted_authors_are_not_even_fetched(world: World) -> None:
    world.users.follow(ME, FRIEND, OTHER)
    world.tweets.post(FRIEND)
    muted = world.tweets.post(OTHER)
    world.users.mute(ME, OTHER)
    await world.home()
    assert muted not in [t for ids, _ in world.tweets.called("hydrate") for t in ids]


async def test_cached_relations_are_used_without_asking_the_users_service(
        world: World) -> None:
    world.users.follow(ME, FRIEND, OTHER)
    shown = world.tweets.post(FRIEND)
    world.tweets.post(OTHER)
    world.users.mute(ME, OTHER)
    await world.redis.client().set(relations_key(ME), encode(world.users.relations[ME]))
    world.users.relations.clear()  # the service would now say "no relations"
    assert (await world.home())[0] == [shown]
    assert world.users.called("viewer_relations") == []


async def test_relations_missing_from_the_cache_are_asked_of_the_users_service(
        world: World) -> None:
    world.users.follow(ME, FRIEND)
    await world.home()
    assert world.users.called("viewer_relations") == [(ME,)]


# Whom the reader follows -----------------------------------------------------------------


async def test_following_is_cached_after_the_first_ask(world: World) -> None:
    world.users.follow(ME, FRIEND, OTHER)
    assert sorted(await world.reader.following(ME)) == [FRIEND, OTHER]
    assert sorted(await world.reader.following(ME)) == [FRIEND, OTHER]
    assert world.users.called("following") == [(ME,)]
    assert await world.redis.client().exists(following_key(ME))


async def test_a_follow_handled_while_the_users_service_answers_is_not_cached_over(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The users service answers with whom the reader followed before a follow
    whose event is handled before the answer is stored: that answer must not
    be cached, or the new followee would be missing for the cache's hour."""
    world.users.follow(ME, FRIEND)
    asked = world.users.following

    async def racing(user_id: int) -> list[int]:
        before = await asked(user_id)
        world.users.follow(ME, OTHER)
        await world.store.forget_following(ME)  # what the follow-created event does
        return before
    monkeypatch.setattr(world.users, "following", racing)
    assert await world.reader.following(ME) == [FRIEND]
    monkeypatch.setattr(world.users, "following", asked)
    assert sorted(await world.reader.following(ME)) == [FRIEND, OTHER]


async def test_following_asks_the_users_service_while_redis_is_down(world: World) -> None:
    world.users.follow(ME, FRIEND)
    world.redis.down()
    assert await world.reader.following(ME) == [FRIEND]


async def test_quiet_is_everyone_left_out(world: World) -> None:
    world.users.mute(ME, OTHER)
    world.users.block(STAR, ME)
    assert await world.reader.quiet(ME) == frozenset({OTHER, STAR})


# Redis down: the page comes from the tweets service ----------------------------------------


async def test_with_redis_down_home_is_assembled_from_the_tweets_service(
        world: World) -> None:
    world.users.follow(ME, FRIEND, STAR)
    await world.celebrity(STAR)
    posted = [world.tweets.post(a) for a in [FRIEND, STAR, ME, OTHER]]
    world.redis.down()
    ids, _ = await world.home()
    assert ids == newest_first(posted[:3])
    assert world.breaker.state.value == "open"


async def test_an_open_breaker_skips_redis_and_pages_from_the_store(world: World) -> None:
    world.users.follow(ME, FRIEND)
    posted = [world.tweets.post(FRIEND) for _ in range(5)]
    world.breaker.failed()  # opened by earlier failures
    pages = await world.all_home(2)
    assert [t for page in pages for t in page] == newest_first(posted)
    assert not await world.redis.client().exists(active_key(ME))  # Redis untouched


async def test_with_redis_and_the_tweets_service_down_home_is_unavailable(
        world: World) -> None:
    world.users.follow(ME, FRIEND)
    world.redis.down()
    world.tweets.fail_with(Unavailable("tweets are down"))
    with pytest.raises(Unavailable):
        await world.home()


# Mentions ---------------------------------------------------------------------------------


async def test_mentions_page_newest_first_without_the_muted(world: World) -> None:
    mentioning = [world.tweets.post(a) for a in [FRIEND, OTHER, FRIEND, STAR]]
    for tweet_id in mentioning:
        await world.store.add([mentions_key(ME)], Entry(tweet_id, world.tweets.tweets[
            tweet_id].user_id))
    world.users.mute(ME, OTHER)
    tweets, token = await world.reader.mentions(ME, ME, 2, "")
    assert [t.tweet_id for t in tweets] == [mentioning[3], mentioning[2]]
    rest, last = await world.reader.mentions(ME, ME, 2, token)
    assert [t.tweet_id for t in rest] == [mentioning[0]]
    assert last == ""


async def test_mentions_are_unavailable_while_redis_is_down(world: World) -> None:
    world.redis.down()
    with pytest.raises(Unavailable):
        await world.reader.mentions(ME, ME, 10, "")


# List timelines ---------------------------------------------------------------------------

LIST = 77


def make_list(world: World, members: list[int], *, owner: int = OTHER,
              private: bool = False) -> None:
    world.users.lists[LIST] = lists_pb2.ListAudience(
        list_id=LIST, owner_id=owner, private=private, member_ids=members, version=1)


async def read_list(world: World, page_size: int = 10, token: str = "",
                    viewer: int = ME) -> tuple[list[int], str]:
    tweets, next_token = await world.reader.list_timeline(viewer, LIST, page_size, token)
    return [t.tweet_id for t in tweets], next_token


async def test_a_list_timeline_merges_its_members_tweets(world: World) -> None:
    make_list(world, [FRIEND, STAR])
    posted = [world.tweets.post(a) for a in [FRIEND, STAR, OTHER, FRIEND]]
    ids, _ = await read_list(world)
    assert ids == newest_first([posted[0], posted[1], posted[3]])


async def test_a_list_members_set_is_kept_and_read_from_redis_next_time(world: World) -> None:
    make_list(world, [FRIEND])
    first = world.tweets.post(FRIEND)
    await read_list(world)
    assert await world.redis.client().exists(recent_key(FRIEND))
    later = world.tweets.post(FRIEND)
    await world.store.add_recent_if_kept(FRIEND, Entry(later, FRIEND))  # fanout
    world.tweets.calls.clear()
    assert (await read_list(world))[0] == [later, first]
    assert world.tweets.called("recent_ids") == []


async def test_a_list_timeline_pages_through_every_members_tweets(world: World) -> None:
    make_list(world, [FRIEND, STAR])
    posted = [world.tweets.post(a) for a in [FRIEND, STAR] * 15]
    seen, token = [], ""
    while True:
        ids, token = await read_list(world, 4, token)
        seen += ids
        if not token:
            break
    assert seen == newest_first(posted)


@pytest.mark.parametrize(("private", "blocked_by_owner", "viewer", "visible"), [
    (False, False, ME, True),
    (True, False, ME, False),
    (True, False, OTHER, True),  # the owner sees their private list
    (False, True, ME, False),
])
async def test_who_may_read_a_list(world: World, private: bool, blocked_by_owner: bool,
                                   viewer: int, visible: bool) -> None:
    make_list(world, [FRIEND], private=private)
    if blocked_by_owner:
        world.users.block(OTHER, ME)
    posted = world.tweets.post(FRIEND)
    if visible:
        assert (await read_list(world, viewer=viewer))[0] == [posted]
    else:
        with pytest.raises(NotFound, match="list not found"):
            await read_list(world, viewer=viewer)


async def test_a_list_that_never_existed_is_not_found(world: World) -> None:
    with pytest.raises(NotFound, match="list not found"):
        await read_list(world)


async def test_a_cached_audience_is_used_without_asking_the_users_service(
        world: World) -> None:
    make_list(world, [FRIEND])
    await world.redis.client().set(audience_key(LIST), encode_audience(world.users.lists[LIST]))
    del world.users.lists[LIST]
    posted = world.tweets.post(FRIEND)
    assert (await read_list(world))[0] == [posted]
    assert world.users.called("list_audience") == []


async def test_a_tweet_fanned_out_while_a_members_set_is_rebuilt_is_kept(
        world: World) -> None:
    """The reader marks the set kept before it asks the tweets service, so a
    tweet stored after that answer was read is added by fanout and survives
    the rebuild (services/timeline/store.py, module docstring)."""
    make_list(world, [FRIEND])
    first = world.tweets.post(FRIEND)
    racing: list[int] = []

    async def fanout_meanwhile() -> None:
        racing.append(world.tweets.post(FRIEND))
        await world.store.add_recent_if_kept(FRIEND, Entry(racing[0], FRIEND))
    world.tweets.while_answering.append(fanout_meanwhile)
    await read_list(world)
    world.tweets.calls.clear()
    assert (await read_list(world))[0] == [racing[0], first]
    assert world.tweets.called("recent_ids") == []  # from the set, not the service


async def test_a_list_leaves_out_members_the_reader_muted(world: World) -> None:
    make_list(world, [FRIEND, STAR])
    shown = world.tweets.post(FRIEND)
    world.tweets.post(STAR)
    world.users.mute(ME, STAR)
    assert (await read_list(world))[0] == [shown]
    assert world.tweets.called("recent_ids") == [(FRIEND, RECENT, 0)]


async def test_with_redis_down_a_list_is_read_from_the_tweets_service(world: World) -> None:
    make_list(world, [FRIEND, STAR])
    posted = [world.tweets.post(a) for a in [FRIEND, STAR]]
    world.redis.down()
    assert (await read_list(world))[0] == newest_first(posted)


# A rebuild already under way --------------------------------------------------------------


async def test_a_reader_waits_for_a_rebuild_under_way_instead_of_repeating_it(
        world: World) -> None:
    world.users.follow(ME, FRIEND)
    assert await world.store.try_lock_rebuild(ME)  # another replica is rebuilding
    waiting = asyncio.create_task(world.reader.rebuild(ME))
    await asyncio.sleep(0)
    assert not waiting.done()
    await world.store.replace_home(ME, [])  # the other replica finishes
    await asyncio.wait_for(waiting, timeout=5)
    assert world.tweets.called("recent_ids") == []


async def test_a_reader_waits_until_the_rebuild_under_way_has_filled_the_home(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.users.follow(ME, FRIEND)
    assert await world.store.try_lock_rebuild(ME)  # another replica is rebuilding
    assert await world.store.start_filling(ME)
    checks: asyncio.Queue[bool] = asyncio.Queue()
    is_materialised = world.store.is_materialised

    async def checked(user_id: int) -> bool:
        answer = await is_materialised(user_id)
        checks.put_nowait(answer)
        return answer
    monkeypatch.setattr(world.store, "is_materialised", checked)
    waiting = asyncio.create_task(world.reader.rebuild(ME))
    assert await asyncio.wait_for(checks.get(), timeout=5) is False  # saw it filling
    assert not waiting.done()
    await world.store.replace_home(ME, [])  # the other replica finishes
    await asyncio.wait_for(waiting, timeout=5)
    assert world.tweets.called("recent_ids") == []


async def test_a_rebuild_releases_its_lock_even_when_it_fails(world: World) -> None:
    world.users.follow(ME, FRIEND)
    world.tweets.fail_with(Unavailable("tweets are down"))
    with pytest.raises(Unavailable):
        await world.reader.rebuild(ME)
    assert await world.store.try_lock_rebuild(ME)


async def test_retweet_shows_with_its_original(world: World) -> None:
    world.users.follow(ME, FRIEND)
    original = world.tweets.post(OTHER, "the original")
    retweet = world.tweets.post(FRIEND, retweet_of=original)
    tweets, _ = await world.reader.home(ME, ME, 10, "")
    assert [t.tweet_id for t in tweets] == [retweet]
    assert tweets[0].kind == tweets_pb2.TWEET_KIND_RETWEET
    assert tweets[0].retweet_of.content == "the original"
