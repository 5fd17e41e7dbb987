"""The newest entries of the authors merged at read time, kept in each timeline
server for a moment.

Every home page of every follower of a celebrity reads that celebrity's recent
set (fanout on read; list timelines read their members' the same way), so at
the seeds' scale those few sets are the hottest keys of the cluster, and here
reading them was a quarter of a warm page's own CPU (docs/CAPACITY.md). A
server keeps each author's first page (the newest `count` entries) for
`ttl_seconds`: an author's new tweet reaches pages merged here that much later,
on top of the fanout worker's own delay. Deeper pages, and sets not complete
(the reader rebuilds those from the tweets service), always go to Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from prometheus_client import Counter

from services.timeline.store import RecentPage, TimelineStore

RECENT_READS = Counter("timeline_recent_page_reads_total",
                       "Authors' recent pages merged at read time, by where they came from.",
                       ["source"])
FROM_PROCESS, FROM_REDIS = RECENT_READS.labels("process"), RECENT_READS.labels("redis")
MAX_KEPT = 10_000  # (author, count) pairs; past it, the expired ones go


class RecentPages:
    def __init__(self, store: TimelineStore, *, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._ttl = ttl_seconds
        self._clock = clock
        self._kept: dict[tuple[int, int], tuple[float, RecentPage]] = {}

    async def pages(self, authors: Sequence[int], before: int | None,
                    count: int) -> dict[int, RecentPage]:
        """Each author's cached entries older than `before` (store.recent_pages),
        the first pages from this server's copy while it is fresh."""
        if before is not None or self._ttl <= 0:
            return await self._store.recent_pages(authors, before, count)
        read_at = self._clock()  # a page's age counts from before it was read
        found: dict[int, RecentPage] = {}
        for author in authors:
            kept = self._kept.get((author, count))
            if kept is not None and read_at - kept[0] < self._ttl:
                found[author] = kept[1]
        FROM_PROCESS.inc(len(found))
        missing = [a for a in authors if a not in found]
        if not missing:
            return found
        FROM_REDIS.inc(len(missing))
        read = await self._store.recent_pages(missing, None, count)
        if len(self._kept) + len(read) > MAX_KEPT:
            self._kept = {k: v for k, v in self._kept.items() if read_at - v[0] < self._ttl}
            if len(self._kept) + len(read) > MAX_KEPT:
                self._kept.clear()
        for author, page in read.items():
            if page.complete:
                self._kept[author, count] = (read_at, page)
        return found | read
