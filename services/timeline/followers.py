"""Whom fanout writes an author's tweet to, without a users call per tweet.

An author's follower count, and their follower ids when they are at or under
the celebrity threshold and fit in one users call (FOLLOWER_BATCH), are kept
in Redis (store.py, `tl:{id}:followers`) from the first tweet that asked the
users service; follow and unfollow events of the author drop them. A list read
while a follow was not yet handled misses the new follower no more than
reading the users service a moment earlier would: handling the follow event
backfills the author's recent tweets into the follower's home (fanout.py),
this one included, since the tweet was stored before its fanout ran. Authors
with more followers than one call returns are read from the users service
every time, as before: their fanout writes thousands of homes, beside which
the call is small, and their lists would make large Redis values.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from prometheus_client import Counter

from services.shared.rpc.peers import FollowerPage, UsersClient
from services.timeline.store import Followers, TimelineStore

FOLLOWER_READS = Counter("timeline_fanout_follower_reads_total",
                         "Fanout's reads of an author's followers, by where they came from.",
                         ["source"])
FROM_CACHE, FROM_USERS = FOLLOWER_READS.labels("cache"), FOLLOWER_READS.labels("users")


class FollowerLists:
    def __init__(self, store: TimelineStore, users: UsersClient, *, threshold: int) -> None:
        self._store = store
        self._users = users
        self._threshold = threshold

    async def first(self, author_id: int) -> FollowerPage:
        """The follower count with the first batch of ids (none above the
        threshold); `rest` gives the others."""
        cached, version = await self._store.cached_followers(author_id)
        if cached is not None:
            FROM_CACHE.inc()
            return FollowerPage(cached.count, cached.ids, "")
        FROM_USERS.inc()
        page = await self._users.first_followers(author_id, max_count=self._threshold)
        # Above the threshold the users service sends the count alone.
        if page.follower_count > self._threshold or not page.next_token:
            await self._store.cache_followers(author_id, version,
                                              Followers(page.follower_count, page.ids))
        return page

    def rest(self, author_id: int, first: FollowerPage) -> AsyncIterator[list[int]]:
        """The follower ids after `first`, batch by batch (none when it had them all)."""
        return self._users.follower_batches(author_id, after=first)

    async def every(self, author_id: int) -> AsyncIterator[list[int]]:
        """All the author's follower ids, batch by batch, whatever their count."""
        first = await self.first(author_id)
        if first.follower_count > self._threshold:  # the count alone: ask for them all
            async for batch in self._users.follower_batches(author_id):
                yield batch
            return
        if first.ids:
            yield first.ids
        async for batch in self.rest(author_id, first):
            yield batch

    async def forget(self, author_id: int) -> None:
        """Someone followed or unfollowed the author."""
        await self._store.forget_followers(author_id)
