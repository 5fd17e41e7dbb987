"""TimelineStore (services/timeline/store.py) on fakeredis: every key the
timeline owns, paging by tweet id, trimming, the recent sets' markers, the
activity marker and the fanout scripts. Cluster routing (node groups, MOVED,
ASK, resharding) is proved against the real cluster in tests/integration."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from services.timeline.domain import Entry
from services.timeline.store import (
    _FANOUT_PER_NODE,
    CELEBRITIES,
    COMPLETE,
    FANOUT_LAG_MS,
    FILLING,
    FILLING_TTL_SECONDS,
    FOLLOWING_TTL_SECONDS,
    PENDING,
    RECENT_TTL_SECONDS,
    SAME_MILLISECOND,
    TimelineStore,
    active_key,
    following_key,
    home_key,
    mentions_key,
    recent_key,
)
from services.users.client.relations import relations_key
from tests.fakes.clock import START, snowflake
from tests.fakes.redis import fake_redis

CAPACITY = 5
RECENT = 3  # recent_capacity
INACTIVE_AFTER = 7 * 24 * 3600
T0 = int(START * 1000)


def at(ms: int, author: int = 1, sequence: int = 0) -> Entry:
    """The entry of a tweet `ms` milliseconds after the start."""
    return Entry(snowflake(T0 + ms, sequence), author)


@pytest.fixture
def redis() -> Redis:
    return fake_redis()


@pytest.fixture
def store(redis: Redis) -> TimelineStore:
    return TimelineStore(redis, capacity=CAPACITY, inactive_after_seconds=INACTIVE_AFTER,
                         recent_capacity=RECENT)


async def members(redis: Redis, key: str) -> list[Entry]:
    """A set's real entries newest first (markers left out)."""
    raw: list[bytes] = await redis.zrevrange(key, 0, -1)  # type: ignore[assignment]
    return [e for e in map(Entry.parse, raw) if e.tweet_id]


async def assert_newest_kept(redis: Redis, key: str, entries: list[Entry]) -> None:
    """A recent set holds the newest RECENT entries and never much more (the
    trim, which spares rank 0 for the marker, keeps one entry beyond them)."""
    kept = await members(redis, key)
    assert kept[:RECENT] == sorted(entries, reverse=True)[:RECENT]
    assert len(kept) <= RECENT + 1


async def activate(redis: Redis, *users: int) -> None:
    for user in users:
        await redis.set(active_key(user), "1", ex=INACTIVE_AFTER)


# Paging -----------------------------------------------------------------------------


@pytest.mark.parametrize(("before", "count", "expected"), [
    (None, 3, [9, 8, 7]),
    (None, 20, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]),
    (7, 3, [6, 5, 4]),
    (2, 5, [1, 0]),
    (0, 5, []),
])
async def test_a_page_is_newest_first_and_strictly_older_than_the_cursor(
        store: TimelineStore, redis: Redis, before: int | None, count: int,
        expected: list[int]) -> None:
    entries = [at(ms) for ms in range(10)]
    await redis.zadd("tl:{1}:home", {e.member: e.score for e in entries})
    cursor = entries[before].tweet_id if before is not None else None
    page = await store.page("tl:{1}:home", before_id=cursor, count=count)
    assert page == [entries[i] for i in expected]


async def test_a_burst_in_the_cursors_millisecond_does_not_hide_older_tweets(
        store: TimelineStore, redis: Redis) -> None:
    # Many more tweets share the cursor's millisecond (one score) than the
    # margin read beyond a page: the store reads further until it has a page.
    burst = [at(100, sequence=s) for s in range(SAME_MILLISECOND * 6)]
    older = [at(ms) for ms in range(5)]
    await redis.zadd("k", {e.member: e.score for e in burst + older})
    page = await store.page("k", before_id=burst[3].tweet_id, count=6)
    assert page == [burst[2], burst[1], burst[0], older[4], older[3], older[2]]


async def test_a_page_of_an_unknown_key_is_empty(store: TimelineStore) -> None:
    assert await store.page("tl:{404}:home", before_id=None, count=10) == []


# Adding, trimming, removing ----------------------------------------------------------------


async def test_add_writes_every_key_and_trims_each_to_capacity(
        store: TimelineStore, redis: Redis) -> None:
    keys = [home_key(1), home_key(2)]
    entries = [at(ms) for ms in range(CAPACITY + 3)]
    for entry in entries:
        await store.add(keys, entry)
    for key in keys:
        assert await members(redis, key) == entries[::-1][:CAPACITY]


async def test_add_of_the_same_entry_again_changes_nothing(
        store: TimelineStore, redis: Redis) -> None:
    entry = at(1)
    for _ in range(3):  # a redelivered event
        await store.add([mentions_key(2)], entry)
    assert await members(redis, mentions_key(2)) == [entry]


async def test_remove_takes_the_entry_out_of_every_key_and_only_it(
        store: TimelineStore, redis: Redis) -> None:
    keep, doomed = at(1), at(2)
    for entry in (keep, doomed):
        await store.add([home_key(1), mentions_key(1)], entry)
    await store.remove([home_key(1), mentions_key(1), home_key(99)], doomed)
    assert await members(redis, home_key(1)) == [keep]
    assert await members(redis, mentions_key(1)) == [keep]


async def test_remove_author_drops_only_that_authors_entries(
        store: TimelineStore, redis: Redis) -> None:
    mine = [at(1, author=7), at(3, author=7)]
    others = [at(2, author=8), at(4, author=9)]
    await store.add_many(home_key(1), mine + others)
    await store.remove_author(1, 7)
    assert await members(redis, home_key(1)) == others[::-1]
    await store.remove_author(1, 7)  # again: nothing left to remove, no error
    assert await members(redis, home_key(1)) == others[::-1]


async def test_add_many_keeps_the_newest_capacity_entries(
        store: TimelineStore, redis: Redis) -> None:
    await store.add([home_key(1)], at(100))
    await store.add_many(home_key(1), [at(ms) for ms in range(10)])
    assert await members(redis, home_key(1)) == [at(100), at(9), at(8), at(7), at(6)]


async def test_add_many_of_nothing_creates_no_key(store: TimelineStore, redis: Redis) -> None:
    await store.add_many(home_key(1), [])
    assert not await redis.exists(home_key(1))


# Fanout to active homes (the per-node script and its per-slot fallback) -----------------


async def test_fanout_writes_only_the_active_followers_homes(
        store: TimelineStore, redis: Redis) -> None:
    await activate(redis, 2, 4)
    written = await store.add_to_active_homes([2, 3, 4, 5], at(1))
    assert written == 2
    assert await members(redis, home_key(2)) == [at(1)]
    assert await members(redis, home_key(4)) == [at(1)]
    assert not await redis.exists(home_key(3))
    assert not await redis.exists(home_key(5))


async def test_fanout_trims_every_home_to_capacity(store: TimelineStore, redis: Redis) -> None:
    await activate(redis, 2)
    entries = [at(ms) for ms in range(CAPACITY + 4)]
    for entry in entries:
        await store.add_to_active_homes([2], entry)
    assert await members(redis, home_key(2)) == entries[::-1][:CAPACITY]


async def test_fanout_redelivered_writes_each_home_once(
        store: TimelineStore, redis: Redis) -> None:
    await activate(redis, 2, 3)
    for _ in range(3):
        assert await store.add_to_active_homes([2, 3], at(1)) == 2
    assert await redis.zcard(home_key(2)) == 1
    assert await redis.zcard(home_key(3)) == 1


async def test_fanout_to_no_followers_writes_nothing(store: TimelineStore) -> None:
    assert await store.add_to_active_homes([], at(1)) == 0


async def test_fakeredis_refuses_the_per_node_scripts_shebang(redis: Redis) -> None:
    """Why the unit layer runs the per-slot fallback: fakeredis compiles the
    `#!lua flags=allow-cross-slot-keys` line as Lua. If this starts passing
    the script, the fake has learnt shebangs: drop this test and the note in
    tests/fakes/redis.py."""
    with pytest.raises(ResponseError, match="near '#'"):
        await redis.eval(_FANOUT_PER_NODE, 1, active_key(2), "1:1", 1, CAPACITY,
                         active_key(2), home_key(2))


async def test_the_per_node_script_body_writes_active_homes_and_trims(redis: Redis) -> None:
    """The per-node script exactly as Redis runs it once its shebang line is
    parsed: the pairs (marker, home) in ARGV after the entry and the capacity."""
    body = _FANOUT_PER_NODE.split("\n", 1)[1]
    await activate(redis, 2)
    await redis.zadd(home_key(2), {at(ms).member: at(ms).score for ms in range(3)})
    entry = at(10)
    pairs = [active_key(2), home_key(2), active_key(3), home_key(3)]
    written = await redis.eval(body, 1, pairs[0], entry.member, entry.score, 2, *pairs)
    assert written == 1
    assert await members(redis, home_key(2)) == [entry, at(2)]
    assert not await redis.exists(home_key(3))


# The page start: activity, entries, following, relations ------------------------------


async def test_the_page_start_of_an_inactive_user_does_not_mark_them_active(
        store: TimelineStore, redis: Redis) -> None:
    start = await store.home_start(1, None, 10)
    assert not start.active
    assert not await redis.exists(active_key(1))


async def test_the_page_start_refreshes_the_activity_marker(
        store: TimelineStore, redis: Redis) -> None:
    await redis.set(active_key(1), "1", ex=60)
    start = await store.home_start(1, None, 10)
    assert start.active
    assert await redis.ttl(active_key(1)) == INACTIVE_AFTER


async def test_the_page_start_of_a_filling_home_neither_serves_nor_extends_it(
        store: TimelineStore, redis: Redis) -> None:
    assert await store.start_filling(1)
    start = await store.home_start(1, None, 10)
    assert not start.active
    assert await redis.get(active_key(1)) == FILLING
    assert 0 < await redis.ttl(active_key(1)) <= FILLING_TTL_SECONDS


async def test_the_page_start_reads_entries_following_and_relations(
        store: TimelineStore, redis: Redis) -> None:
    await activate(redis, 1)
    entries = [at(ms, author=2) for ms in range(4)]
    await store.add_many(home_key(1), entries)
    await store.set_following(1, [2, 3, 4], version="")
    await store.mark_celebrity(4, True)
    await store.mark_celebrity(3, True)
    await redis.set(relations_key(1), b"7:cached")
    start = await store.home_start(1, entries[3].tweet_id, 2)
    assert start.entries == [entries[2], entries[1]]
    assert start.following_known
    assert sorted(start.followees) == [2, 3, 4]
    assert start.relations == b"7:cached"


async def test_the_page_start_tells_an_uncached_following_from_following_nobody(
        store: TimelineStore) -> None:
    assert not (await store.home_start(1, None, 10)).following_known
    await store.set_following(1, [], version="")
    start = await store.home_start(1, None, 10)
    assert start.following_known
    assert start.followees == []


# Whom a user follows ---------------------------------------------------------------------


async def test_following_is_none_until_cached_then_the_ids(
        store: TimelineStore, redis: Redis) -> None:
    assert await store.following(1) is None
    await store.set_following(1, [5, 6], version="")
    assert sorted(await store.following(1) or []) == [5, 6]
    assert await redis.ttl(following_key(1)) == FOLLOWING_TTL_SECONDS


async def test_following_nobody_is_cached_as_an_empty_list(store: TimelineStore) -> None:
    await store.set_following(1, [], version="")
    assert await store.following(1) == []


async def test_set_following_replaces_the_old_set(store: TimelineStore) -> None:
    await store.set_following(1, [5, 6], version="")
    await store.set_following(1, [7], version="")
    assert await store.following(1) == [7]


async def test_a_following_list_read_before_a_follow_event_is_not_stored(
        store: TimelineStore) -> None:
    """The reader asked the users service, then the user's follow event was
    handled: the list from before the follow must not be cached for an hour."""
    assert await store.set_following(1, [5], version="")
    version = await store.following_version(1)
    await store.forget_following(1)
    assert not await store.set_following(1, [5], version=version)
    assert await store.following(1) is None
    assert await store.set_following(1, [5, 6], version=await store.following_version(1))
    assert sorted(await store.following(1) or []) == [5, 6]


async def test_a_long_following_list_is_cached_whole(store: TimelineStore) -> None:
    ids = list(range(1, 2_501))  # more than one SADD of the script takes
    assert await store.set_following(1, ids, version="")
    assert sorted(await store.following(1) or []) == ids


async def test_forget_following_drops_the_cache(store: TimelineStore) -> None:
    await store.set_following(1, [5], version="")
    await store.forget_following(1)
    assert await store.following(1) is None


# Celebrities and their recent sets --------------------------------------------------------


async def test_celebrities_among_keeps_the_order_asked_and_only_marked_ones(
        store: TimelineStore) -> None:
    for author in (3, 5, 9):
        await store.mark_celebrity(author, True)
    await store.mark_celebrity(5, False)
    assert await store.celebrities_among([9, 1, 3, 5]) == [9, 3]
    assert await store.celebrities_among([]) == []


async def test_mark_celebrity_false_for_someone_never_marked_is_harmless(
        store: TimelineStore, redis: Redis) -> None:
    await store.mark_celebrity(3, False)
    assert await redis.smembers(CELEBRITIES) == set()


async def test_the_celebrity_version_moves_with_every_change_and_only_then(
        store: TimelineStore) -> None:
    assert await store.celebrities_version() is None
    await store.mark_celebrity(3, True)
    added = await store.celebrities_version()
    assert added is not None
    await store.mark_celebrity(3, True)  # already one
    await store.mark_celebrity(4, False)  # never one
    assert await store.celebrities_version() == added
    await store.mark_celebrity(3, False)
    removed = await store.celebrities_version()
    assert removed not in (None, added)
    await store.mark_celebrity(3, True)  # back: a new token, not the old one again
    assert await store.celebrities_version() not in (None, added, removed)
    assert await store.celebrities() == (await store.celebrities_version(), frozenset({3}))


async def test_add_recent_keeps_the_newest_and_the_complete_marker(
        store: TimelineStore, redis: Redis) -> None:
    await store.replace_recent(7, [])
    entries = [at(ms, author=7) for ms in range(6)]
    for entry in entries:
        await store.add_recent(7, entry)
    await assert_newest_kept(redis, recent_key(7), entries)
    assert await redis.zscore(recent_key(7), COMPLETE) == 0
    assert await redis.ttl(recent_key(7)) == RECENT_TTL_SECONDS


async def test_replace_recent_merges_what_fanout_added_and_marks_the_set_complete(
        store: TimelineStore, redis: Redis) -> None:
    await store.keep_recent(7)  # the reader asks the tweets service after this
    racing = at(50, author=7)
    await store.add_recent_if_kept(7, racing)  # a tweet fanned out meanwhile
    await store.replace_recent(7, [at(ms, author=7) for ms in (1, 2)])
    assert await members(redis, recent_key(7)) == [racing, at(2, author=7), at(1, author=7)]
    assert await redis.zscore(recent_key(7), COMPLETE) == 0
    assert await redis.zscore(recent_key(7), PENDING) is None
    assert await redis.ttl(recent_key(7)) == RECENT_TTL_SECONDS


async def test_replace_recent_trims_to_recent_capacity(
        store: TimelineStore, redis: Redis) -> None:
    entries = [at(ms, author=7) for ms in range(10)]
    await store.replace_recent(7, entries)
    await assert_newest_kept(redis, recent_key(7), entries)


async def test_add_recent_if_kept_writes_only_a_kept_set(
        store: TimelineStore, redis: Redis) -> None:
    assert not await store.add_recent_if_kept(7, at(1, author=7))
    assert not await redis.exists(recent_key(7))
    await store.keep_recent(7)
    assert await store.add_recent_if_kept(7, at(1, author=7))
    assert await members(redis, recent_key(7)) == [at(1, author=7)]


async def test_fanout_adds_to_the_authors_kept_recent_set_in_the_same_call(
        store: TimelineStore, redis: Redis) -> None:
    await activate(redis, 2)
    assert await store.add_to_active_homes([7, 2], at(1, author=7), recent_of=7) == 1
    assert not await redis.exists(recent_key(7))  # none kept: none made
    await store.keep_recent(7)
    assert await store.add_to_active_homes([7, 2], at(2, author=7), recent_of=7) == 1
    assert await members(redis, recent_key(7)) == [at(2, author=7)]
    assert await members(redis, home_key(2)) == [at(2, author=7), at(1, author=7)]


async def test_add_recent_if_kept_trims_but_keeps_the_marker(
        store: TimelineStore, redis: Redis) -> None:
    await store.replace_recent(7, [])
    entries = [at(ms, author=7) for ms in range(6)]
    for entry in entries:
        await store.add_recent_if_kept(7, entry)
    await assert_newest_kept(redis, recent_key(7), entries)
    assert await redis.zscore(recent_key(7), COMPLETE) == 0


async def test_keep_recent_never_extends_a_set_that_has_a_ttl(
        store: TimelineStore, redis: Redis) -> None:
    await store.keep_recent(7)
    assert await redis.ttl(recent_key(7)) == RECENT_TTL_SECONDS
    await redis.expire(recent_key(7), 100)
    await store.keep_recent(7)
    assert await redis.ttl(recent_key(7)) == 100


async def test_recent_pages_tell_complete_and_full_sets(
        store: TimelineStore, redis: Redis) -> None:
    await store.replace_recent(7, [at(ms, author=7) for ms in range(2)])  # complete
    await store.keep_recent(8)  # pending: not complete
    await store.add_recent_if_kept(8, at(5, author=8))
    await store.replace_recent(9, [at(ms, author=9) for ms in range(3)])
    await redis.zadd(recent_key(9), {at(10, author=9).member: at(10, author=9).score})
    pages = await store.recent_pages([7, 8, 9, 10], None, 10)
    assert pages[7].entries == [at(1, author=7), at(0, author=7)]
    assert (pages[7].complete, pages[7].full) == (True, False)
    assert pages[8].entries == [at(5, author=8)]
    assert not pages[8].complete
    assert pages[9].full  # over capacity: older tweets may exist beyond it
    assert (pages[10].entries, pages[10].complete) == ([], False)


async def test_recent_pages_honour_the_cursor(store: TimelineStore) -> None:
    entries = [at(ms, author=7) for ms in range(3)]
    await store.replace_recent(7, entries)
    pages = await store.recent_pages([7], entries[2].tweet_id, 10)
    assert pages[7].entries == [entries[1], entries[0]]
    assert await store.recent_pages([], None, 10) == {}


# Activity, rebuild lock, rebuilt homes, lag --------------------------------------------------


async def test_fanout_writes_to_a_filling_home_and_the_rebuild_keeps_it(
        store: TimelineStore, redis: Redis) -> None:
    assert await store.start_filling(1)
    assert await store.is_active(1)  # fanout writes to it ...
    assert not await store.is_materialised(1)  # ... reads do not serve it
    assert await store.add_to_active_homes([1, 2], at(9)) == 1
    await store.replace_home(1, [at(1), at(2)])
    assert await members(redis, home_key(1)) == [at(9), at(2), at(1)]
    assert await store.is_materialised(1)
    assert await redis.ttl(active_key(1)) == INACTIVE_AFTER


async def test_a_rebuild_does_not_refill_a_home_materialised_meanwhile(
        store: TimelineStore, redis: Redis) -> None:
    await store.replace_home(1, [at(1)])
    assert not await store.start_filling(1)
    assert await store.is_materialised(1)
    assert await redis.ttl(active_key(1)) == INACTIVE_AFTER


async def test_a_rebuild_after_a_crashed_one_fills_for_its_full_bound(
        store: TimelineStore, redis: Redis) -> None:
    await redis.set(active_key(1), FILLING, ex=1)  # a dead rebuild's, about to expire
    assert await store.start_filling(1)
    assert await redis.ttl(active_key(1)) == FILLING_TTL_SECONDS


async def test_replace_home_writes_trims_and_marks_active(
        store: TimelineStore, redis: Redis) -> None:
    entries = [at(ms) for ms in range(8)]
    await store.replace_home(1, entries)
    assert await members(redis, home_key(1)) == entries[::-1][:CAPACITY]
    assert await store.is_active(1)
    assert await redis.ttl(active_key(1)) == INACTIVE_AFTER


async def test_replace_home_with_nothing_to_show_still_marks_active(
        store: TimelineStore, redis: Redis) -> None:
    await store.replace_home(1, [])
    assert await store.is_active(1)
    assert not await redis.exists(home_key(1))


async def test_the_rebuild_lock_is_exclusive_until_released(
        store: TimelineStore, redis: Redis) -> None:
    assert await store.try_lock_rebuild(1, seconds=30)
    assert not await store.try_lock_rebuild(1)
    assert await store.try_lock_rebuild(2)  # per user
    assert 0 < await redis.ttl("tl:{1}:rebuilding") <= 30  # a crashed holder's lock expires
    await store.unlock_rebuild(1)
    assert await store.try_lock_rebuild(1)


async def test_record_lag_keeps_samples_newest_first(store: TimelineStore, redis: Redis) -> None:
    await store.record_lag(12.34)
    await store.record_lag(2500)
    assert await redis.lrange(FANOUT_LAG_MS, 0, -1) == [b"2500.0", b"12.3"]
