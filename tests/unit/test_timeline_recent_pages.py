"""Authors' newest recent entries kept in the timeline server for a moment
(services/timeline/recent_pages.py): the pages that merge them at read time
stop reading the same hot sets for every reader."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from services.timeline.domain import Entry
from services.timeline.recent_pages import RecentPages
from services.timeline.store import RecentPage, TimelineStore
from tests.fakes.clock import START, snowflake
from tests.fakes.redis import fake_redis

TTL = 0.5
T0 = int(START * 1000)


def at(ms: int, author: int) -> Entry:
    return Entry(snowflake(T0 + ms), author)


class CountingStore(TimelineStore):
    """The store on fake Redis, with the recent-page reads it was asked for."""

    def __init__(self) -> None:
        super().__init__(fake_redis(), capacity=100, inactive_after_seconds=3600,
                         recent_capacity=50)
        self.reads: list[list[int]] = []

    async def recent_pages(self, authors: Sequence[int], before: int | None,
                           count: int) -> dict[int, RecentPage]:
        self.reads.append(list(authors))
        return await super().recent_pages(authors, before, count)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store() -> CountingStore:
    store = CountingStore()
    await store.replace_recent(7, [at(1, 7), at(2, 7)])
    await store.replace_recent(8, [at(3, 8)])
    return store


async def test_first_pages_are_read_once_while_fresh(store: CountingStore) -> None:
    clock = Clock()
    recent = RecentPages(store, ttl_seconds=TTL, clock=clock)
    first = await recent.pages([7, 8], None, 20)
    clock.now += TTL / 2
    again = await recent.pages([8, 7], None, 20)
    assert store.reads == [[7, 8]]
    assert again == first
    assert again[7].entries == [at(2, 7), at(1, 7)]


async def test_a_new_tweet_shows_once_the_copy_is_older_than_its_ttl(
        store: CountingStore) -> None:
    clock = Clock()
    recent = RecentPages(store, ttl_seconds=TTL, clock=clock)
    await recent.pages([7], None, 20)
    await store.add_recent_if_kept(7, at(9, 7))
    clock.now += TTL / 2
    assert at(9, 7) not in (await recent.pages([7], None, 20))[7].entries
    clock.now += TTL
    assert (await recent.pages([7], None, 20))[7].entries[0] == at(9, 7)
    assert store.reads == [[7], [7]]


async def test_only_missing_or_stale_authors_are_read(store: CountingStore) -> None:
    clock = Clock()
    recent = RecentPages(store, ttl_seconds=TTL, clock=clock)
    await recent.pages([7], None, 20)
    pages = await recent.pages([7, 8], None, 20)
    assert store.reads == [[7], [8]]
    assert pages[8].entries == [at(3, 8)]
    await recent.pages([7], None, 5)  # another page size is another page
    assert store.reads[-1] == [7]


async def test_deeper_pages_and_incomplete_sets_always_go_to_redis(
        store: CountingStore) -> None:
    recent = RecentPages(store, ttl_seconds=TTL, clock=Clock())
    before = at(2, 7).tweet_id
    for _ in range(2):
        assert (await recent.pages([7], before, 20))[7].entries == [at(1, 7)]
    await store.keep_recent(9)  # pending: the reader rebuilds it from the tweets service
    for _ in range(2):
        assert not (await recent.pages([9], None, 20))[9].complete
    assert store.reads == [[7], [7], [9], [9]]


async def test_no_ttl_reads_every_time(store: CountingStore) -> None:
    recent = RecentPages(store, ttl_seconds=0.0, clock=Clock())
    await recent.pages([7], None, 20)
    await recent.pages([7], None, 20)
    assert store.reads == [[7], [7]]
