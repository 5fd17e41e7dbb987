"""Reading timelines: cached entries merged with the recent tweets of the
celebrities the reader follows, hydrated from the tweet cache, newest first,
cursor-paged by tweet id. A list timeline is the same merge over every
member of the list, with nothing materialised per list.

A home page on a warm cache is two Redis round trips and no RPC, whatever
the page size or the number of people followed: the page start (activity,
cached entries, whom the reader follows, on the reader's node) and the tweets
with the reader's flags (hydrate.py; one pipeline per node, in parallel).
Which followees are celebrities comes from the server's copy of the set
(celebrities.py), or from Redis (one more) while that copy is not loaded or
too old. Followed celebrities add one (their recent entries) unless the
server read them within the last half second (recent_pages.py), and so do
retweets whose originals are neither on the page nor hot in the server.
tests/integration/test_timeline_reads.py counts them (docs/ARCHITECTURE.md,
"The read path").

When Redis is unreachable (the store's circuit breaker is open), the page is
assembled from the tweets service instead: whom the reader follows, their
recent tweets, and BatchGetTweets, which reads Cassandra. When that fails too,
the answer is UNAVAILABLE (503 with Retry-After), never an internal error.
"""

from __future__ import annotations

import asyncio
import heapq

from prometheus_client import Counter
from twitter.tweets.v1 import tweets_pb2

from services.shared.errors import NotFound, Unavailable
from services.shared.observability.logging import get_logger
from services.shared.paging.cursor import LastId, PageRequest, last_id
from services.shared.resilience.breaker import CircuitBreaker
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores.redis_client import REDIS_ERRORS
from services.timeline.celebrities import CelebrityCopy
from services.timeline.domain import (
    SLACK,
    Entry,
    Timeline,
    merge,
    next_token,
    require_self,
)
from services.timeline.hydrate import Hydrator
from services.timeline.recent_pages import RecentPages
from services.timeline.store import RecentPage, TimelineStore, mentions_key
from services.users.client.lists import LIST_NOT_FOUND, ListAudiences, visible
from services.users.client.relations import RelationsCache

log = get_logger(__name__)

REBUILD_PER_FOLLOWEE = 50
# Home pages served from a materialised timeline (hit) or after rebuilding it (miss).
HOME_READS = Counter("timeline_cache_reads_total", "Home timeline reads by cache result.",
                     ["result"])
HOME_HIT, HOME_MISS = HOME_READS.labels("hit"), HOME_READS.labels("miss")
FETCH_CONCURRENCY = 16


class Reader:
    def __init__(self, store: TimelineStore, users: UsersClient, tweets: TweetsClient,
                 hydrator: Hydrator, relations: RelationsCache, lists: ListAudiences, *,
                 breaker: CircuitBreaker | None = None,
                 celebrities: CelebrityCopy | None = None,
                 recent: RecentPages | None = None) -> None:
        self._store = store
        # Without a refreshed copy (one never loaded asks Redis every time).
        self._celebrities = celebrities or CelebrityCopy(store, refresh_seconds=1.0,
                                                         max_age_seconds=0.0)
        # Without one kept in process, every page reads the recent sets.
        self._recent_pages = recent or RecentPages(store, ttl_seconds=0.0)
        self._relations = relations
        self._lists = lists
        self._users = users
        self._tweets = tweets
        self._hydrator = hydrator
        self._breaker = breaker or CircuitBreaker("timeline_store")

    async def home(self, caller: int, user_id: int, page_size: int,
                   page_token: str) -> tuple[list[tweets_pb2.Tweet], str]:
        require_self(caller, user_id)
        req = Timeline.HOME.cursor.request(user_id, page_size, page_token)
        before, want = last_id(req), req.limit + SLACK
        if self._breaker.allow():
            try:
                candidates, cached = await self._cached_home(user_id, before, want)
                self._breaker.succeeded()
            except REDIS_ERRORS:
                self._breaker.failed()
                log.warning("timeline cache unreachable; reading from the store", exc_info=True)
                candidates, cached = await self._stored_home(user_id, before, want), None
        else:
            candidates, cached = await self._stored_home(user_id, before, want), None
        relations = await self._relations.resolve(user_id, cached)
        return await self._page(req, user_id, candidates, want, relations.quiet)

    async def mentions(self, caller: int, user_id: int, page_size: int,
                       page_token: str) -> tuple[list[tweets_pb2.Tweet], str]:
        require_self(caller, user_id)
        req = Timeline.MENTIONS.cursor.request(user_id, page_size, page_token)
        before, want = last_id(req), req.limit + SLACK
        try:
            candidates, relations = await asyncio.gather(
                self._store.page(mentions_key(user_id), before_id=before, count=want),
                self._relations.of(user_id))
        except REDIS_ERRORS as exc:
            # Mentions live only in the cache (no store keeps them per user).
            raise Unavailable("mentions are unavailable right now; try again") from exc
        return await self._page(req, user_id, candidates, want, relations.quiet)

    async def quiet(self, user_id: int) -> frozenset[int]:
        """Whom the user's timelines leave out: blocked either way, or muted."""
        return (await self._relations.of(user_id)).quiet

    async def following(self, user_id: int) -> list[int]:
        """Whom a user follows, cached in Redis; follow events drop the cache."""
        try:
            cached = await self._store.following(user_id)
        except REDIS_ERRORS:
            return await self._users.following(user_id)
        if cached is not None:
            return cached
        version = await self._store.following_version(user_id)
        ids = await self._users.following(user_id)
        await self._store.set_following(user_id, ids, version=version)
        return ids

    async def _cached_home(self, user_id: int, before: int | None,
                           want: int) -> tuple[list[Entry], bytes | None]:
        """The page's candidates, and the reader's cached relations (read in
        the same round trip)."""
        start = await self._store.home_start(user_id, before, want)
        if not start.active:
            HOME_MISS.inc()
            await self.rebuild(user_id)
            start = await self._store.home_start(user_id, before, want)
        else:
            HOME_HIT.inc()
        followees = start.followees if start.following_known else await self.following(user_id)
        celebrities = await self._celebrities.celebrities_among(followees)
        sources = [start.entries, *await self._recent_entries(celebrities, before, want)]
        return merge(sources, before, want), start.relations

    async def list_timeline(self, caller: int, list_id: int, page_size: int,
                            page_token: str) -> tuple[list[tweets_pb2.Tweet], str]:
        """A list's timeline: fanout on read, i.e. the home timeline's
        celebrity merge over every member (their cached recent sets), with the
        reader's blocks and mutes left out as on the home timeline. NOT_FOUND
        for a list the caller may not see, word for word as for no list."""
        req = Timeline.LIST.cursor.request(list_id, page_size, page_token)
        before, want = last_id(req), req.limit + SLACK
        audience, relations = await asyncio.gather(self._lists.of(list_id),
                                                   self._relations.of(caller))
        if not visible(audience, caller, relations):
            raise NotFound(LIST_NOT_FOUND)
        authors = [m for m in audience.member_ids if m not in relations.quiet]
        if self._breaker.allow():
            try:
                sources = await self._recent_entries(authors, before, want)
                self._breaker.succeeded()
            except REDIS_ERRORS:
                self._breaker.failed()
                log.warning("timeline cache unreachable; reading from the store", exc_info=True)
                sources = await self._recent_of(authors, before, want)
        else:
            sources = await self._recent_of(authors, before, want)
        return await self._page(req, caller, merge(sources, before, want), want,
                                relations.quiet)

    async def _recent_entries(self, authors: list[int], before: int | None,
                              want: int) -> list[list[Entry]]:
        """The authors' entries for this page from their cached recent sets
        (one round trip), those not cached far enough from the tweets service
        (a few at a time)."""
        recents = await self._recent_pages.pages(authors, before, want)
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def one(author: int) -> list[Entry]:
            page = recents[author]
            if page.complete and (len(page.entries) >= want or not page.full):
                return page.entries  # no I/O: the common case
            async with gate:
                return await self._recent(author, page, before, want)

        return list(await asyncio.gather(*(one(a) for a in authors)))

    async def _recent(self, author: int, page: RecentPage, before: int | None,
                      want: int) -> list[Entry]:
        """An author's entries for this page: from the cached set when it is
        complete and reaches far enough back, else from the tweets service."""
        if page.complete and (len(page.entries) >= want or not page.full):
            return page.entries
        if not page.complete:
            # Kept by fanout from here on, so nothing posted while the tweets
            # service is asked can be missed (store.py, module docstring).
            await self._store.keep_recent(author)
            ids = await self._tweets.recent_ids(author, self._store.recent_capacity)
            await self._store.replace_recent(author, [Entry(t, author) for t in ids])
            if before is None or len(ids) < self._store.recent_capacity:
                return [Entry(t, author) for t in ids
                        if before is None or t < before][:want]
        # A deep page, beyond what the set keeps: ask for exactly that range.
        ids = await self._tweets.recent_ids(author, want, before or 0)
        return [Entry(t, author) for t in ids]

    async def _stored_home(self, user_id: int, before: int | None, want: int) -> list[Entry]:
        """The page without Redis: every followed author's recent tweets."""
        followees = await self._users.following(user_id)
        return merge(await self._recent_of([*followees, user_id], before, want), before, want)

    async def _recent_of(self, authors: list[int], before: int | None,
                         count: int) -> list[list[Entry]]:
        gate = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def recent(author: int) -> list[Entry]:
            async with gate:
                ids = await self._tweets.recent_ids(author, count, before or 0)
            return [Entry(t, author) for t in ids]

        return list(await asyncio.gather(*(recent(a) for a in authors)))

    async def rebuild(self, user_id: int) -> None:
        """Materialises a missing home timeline (new, returning or evicted user)
        from the recent tweets of everyone they follow (celebrities excluded:
        they are merged at read time) and their own."""
        if not await self._store.try_lock_rebuild(user_id):
            for _ in range(50):  # someone else is rebuilding it: wait for them
                await asyncio.sleep(0.1)
                if await self._store.is_materialised(user_id):
                    return
        try:
            # Fanout writes to the home from here on, so a tweet stored after
            # the tweets service is read below is not lost (store.py's docstring).
            if not await self._store.start_filling(user_id):
                return  # materialised meanwhile by another rebuild
            followees = await self.following(user_id)
            celebrities = set(await self._store.celebrities_among(followees))
            authors = [u for u in followees if u not in celebrities] + [user_id]
            batches = await self._recent_of(authors, None, REBUILD_PER_FOLLOWEE)
            newest = heapq.nlargest(self._store.capacity, (e for b in batches for e in b))
            await self._store.replace_home(user_id, newest)
        finally:
            await self._store.unlock_rebuild(user_id)

    async def _page(self, req: PageRequest[LastId], user_id: int, candidates: list[Entry],
                    want: int, quiet: frozenset[int]) -> tuple[list[tweets_pb2.Tweet], str]:
        # One more than the page: whether another page follows. Entries of users
        # left out go before hydration; retweets of their tweets after it.
        shown = [e.tweet_id for e in candidates if e.author_id not in quiet]
        tweets = await self._hydrator.tweets(shown, user_id, req.fetch_size, hidden=quiet)
        token = next_token(req, [t.tweet_id for t in tweets], candidates, want)
        return tweets[:req.limit], token
