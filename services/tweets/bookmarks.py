"""Bookmarks (service layer): private to their owner, newest first.

Bookmarking is idempotent through `bookmark_of` (bookmark_store.py): the first
bookmark id claimed for a (user, tweet) stands, and a repeat answers with it.
The list row is written before the claim, so a crash in between leaves at
worst a row no claim names, which listings skip and drop; never a bookmark
that is claimed but missing from the list.

A deleted tweet's bookmarks disappear from the list at once (a listing reads
every tweet through the tweet cache, which knows deletions) and their rows are
dropped when a listing meets them, rather than by a consumer of TweetDeleted:
that would need an index from each tweet to its bookmarkers, written on every
bookmark, for a cleanup the reads do not need. A tweet whose author and the
owner block each other is left out while the block lasts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twitter.tweets.v1 import tweets_pb2

from services.shared.errors import NotFound
from services.shared.observability.logging import get_logger
from services.shared.paging.cursor import LastId, ListCursor
from services.shared.snowflake.ids import IdGenerator, id_time
from services.tweets.bookmark_store import BookmarkRow, BookmarkStore
from services.tweets.reads import CachedReads, page_bound

log = get_logger(__name__)
BOOKMARKS = ListCursor("tweets.bookmarks", LastId)
# A list row younger than this may belong to a bookmark whose claim is still
# in flight: listings skip it but leave it in place.
STRAY_GRACE = timedelta(minutes=1)
RELEASE_ATTEMPTS = 5


class Bookmarks:
    def __init__(self, store: BookmarkStore, reads: CachedReads, ids: IdGenerator) -> None:
        self._store = store
        self._reads = reads
        self._ids = ids

    async def add(self, caller: int, tweet_id: int) -> tuple[int, datetime]:
        """Bookmarks the tweet (a retweet's original); returns the bookmarked
        tweet and when the standing bookmark was made."""
        target, _ = await self._reads.target(tweet_id)
        fresh = self._ids.next_id()
        await self._store.list_row(caller, BookmarkRow(fresh, target))
        standing = await self._store.claim(caller, target, fresh)
        if standing != fresh:  # bookmarked before: our row goes, theirs is (re)written
            await self._store.unlist_rows(caller, [fresh])
            await self._store.list_row(caller, BookmarkRow(standing, target))
        return target, id_time(standing)

    async def remove(self, caller: int, tweet_id: int) -> None:
        """Removes the bookmark of the tweet (a retweet's original); a no-op
        when there is none. A deleted tweet's bookmark is removed all the same."""
        try:
            target, _ = await self._reads.target(tweet_id)
        except NotFound:
            target = tweet_id
        await self._forget(caller, target)

    async def page(self, caller: int, page_size: int, page_token: str
                   ) -> tuple[list[tuple[tweets_pb2.Tweet, datetime]], str]:
        """The caller's bookmarked tweets as they see them, newest bookmark first."""
        req = BOOKMARKS.request(caller, page_size, page_token)
        rows = await self._store.page(caller, page_bound(req), req.fetch_size)
        page, token = req.page(rows, lambda r: LastId(r.bookmark_id))
        standing = await self._store.current_of(caller, sorted({r.tweet_id for r in page}))
        live = [r for r in page if standing.get(r.tweet_id) == r.bookmark_id]
        tweets = {t.tweet_id: t for t in await self._reads.tweets(
            [r.tweet_id for r in live], caller)}
        await self._tidy(caller, [r for r in page if r not in live],
                         [r.tweet_id for r in live if r.tweet_id not in tweets])
        return [(tweets[r.tweet_id], id_time(r.bookmark_id))
                for r in live if r.tweet_id in tweets], token

    async def _tidy(self, caller: int, strays: list[BookmarkRow], gone: list[int]) -> None:
        """Drops rows no claim names (old enough not to be a claim in flight)
        and the bookmarks of deleted tweets. Best effort: the next listing
        tries again."""
        cutoff = datetime.now(UTC) - STRAY_GRACE
        try:
            old = [r.bookmark_id for r in strays if id_time(r.bookmark_id) < cutoff]
            if old:
                await self._store.unlist_rows(caller, old)
            for tweet_id in gone:
                await self._forget(caller, tweet_id)
        except Exception:
            log.warning("could not drop stale bookmarks", user_id=caller, exc_info=True)

    async def _forget(self, caller: int, tweet_id: int) -> None:
        for _ in range(RELEASE_ATTEMPTS):
            standing = await self._store.current(caller, tweet_id)
            if standing is None:
                return
            if await self._store.release(caller, tweet_id, standing):
                await self._store.unlist_rows(caller, [standing])
                return
        # Re-bookmarked and removed again by others meanwhile: theirs decides.
