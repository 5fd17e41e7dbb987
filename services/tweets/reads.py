"""Reading tweets. Edits and deletes read the stored tweet (alive, or
NOT_FOUND, from Cassandra: `Reader`); every other read, including what a like,
retweet or reply acts on, goes through the tweet cache
(services/tweets/client/tweet_cache.py: hot tier, then Redis, then Cassandra:
`CachedReads`), which it keeps right after changes.

A page of n tweets costs, when everything is cached, one Redis round trip for
the tweets and the viewer's flags (two when retweets bring in originals not on
the page and not hot in this process); profiles come from the users client's
in-process cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from twitter.tweets.v1 import cache_pb2, tweets_pb2

from services.shared.errors import NotFound
from services.shared.observability.logging import get_logger
from services.shared.paging.cursor import LastId, ListCursor, PageRequest, last_id
from services.tweets.client.tweet_cache import Queue, Rider, Riders, TweetCache, Versioned
from services.tweets.client.tweet_views import (
    Entries,
    Lookup,
    flag_targets,
    lookup_with_flags,
    people,
    render,
)
from services.tweets.client.viewer_flags import Flags, ViewerFlags
from services.tweets.domain import TweetRecord
from services.tweets.media import MediaClient
from services.tweets.repository import TweetStore, write_time
from services.tweets.users import UsersClient
from services.tweets.views import cached_entry

log = get_logger(__name__)
TWEET_NOT_FOUND = "tweet not found"
WARM_COUNT = 2000  # recently changed tweets read into the hot tier at start
NO_UPPER_BOUND = (1 << 63) - 1

# Every list of tweets, likes or edits is newest first, by one id.
USER_TWEETS = ListCursor("tweets.user_tweets", LastId)
RECENT_IDS = ListCursor("tweets.recent_ids", LastId)
REPLIES = ListCursor("tweets.replies", LastId)
EDITS = ListCursor("tweets.edits", LastId)
LIKERS = ListCursor("tweets.likers", LastId)


def page_bound(req: PageRequest[LastId]) -> int:
    """The exclusive upper bound (an id) of the requested page."""
    return last_id(req) or NO_UPPER_BOUND


class Reader:
    """The stored tweet, for the writes that must see it as it is now."""

    def __init__(self, store: TweetStore) -> None:
        self._store = store

    async def alive(self, tweet_id: int, *, serial: bool = False) -> TweetRecord:
        """The tweet as stored; NOT_FOUND when it does not exist or is deleted."""
        tweet = await self._store.get(tweet_id, serial=serial) if tweet_id > 0 else None
        if tweet is None or tweet.deleted:
            raise NotFound(TWEET_NOT_FOUND)
        return tweet


class CachedReads:
    """Tweets as viewers see them, through the cache's tiers."""

    def __init__(self, cache: TweetCache, flags: ViewerFlags, store: TweetStore,
                 media: MediaClient, users: UsersClient) -> None:
        self._cache = cache
        self._flags = flags
        self._store = store
        self._media = media
        self._users = users
        self._loading: set[asyncio.Task[None]] = set()

    async def tweets(self, tweet_ids: Sequence[int], viewer: int, *,
                     known: Flags | None = None,
                     rider: Rider | None = None) -> list[tweets_pb2.Tweet]:
        """The tweets as the viewer sees them, in the order asked, once each;
        deleted and unknown ones (and retweets of deleted tweets) left out.
        `known` flags (a write's answer) spare looking the viewer's up; a
        `rider` shares the first round trip to the cache (it hears nothing
        when the cache is unreachable)."""
        ids = list(dict.fromkeys(t for t in tweet_ids if t > 0))
        asked = 0 if known is not None else viewer
        lookup = self.entries if rider is None else self._with_first(rider)
        entries, flags, _ = await lookup_with_flags(lookup, self._flags, ids, asked,
                                                    self._cache.peek)
        (liked, retweeted), authors = await asyncio.gather(
            self._viewer_flags(asked, flag_targets(ids, entries), known or flags),
            self._users.summaries(people(entries)))
        shown = (render(t, entries, authors, liked, retweeted) for t in ids)
        return [t for t in shown if t is not None]

    def _with_first(self, extra: Rider) -> Lookup:
        """Entries read through the cache, `extra` riding the first lookup."""
        pending = [extra]

        async def lookup(ids: Sequence[int], rider: Rider) -> Entries:
            riders = Riders(rider, pending.pop()) if pending else rider
            return await self.entries(ids, riders)
        return lookup

    async def entries(self, ids: Sequence[int], rider: Rider | None = None
                      ) -> dict[int, cache_pb2.CachedTweet]:
        """Cached entries for the ids that exist (deleted ones marked deleted)."""
        found = await self._cache.get(ids, rider)
        missing = [t for t in ids if t not in found]
        if missing:
            loaded = await self._load(missing)
            await self._cache.fill(loaded.items())
            found |= {t: v.entry for t, v in loaded.items()}
        return found

    async def target(self, tweet_id: int) -> tuple[int, int]:
        """What a like or retweet acts on, and its author: the tweet, or the
        original of a retweet. NOT_FOUND when missing or deleted."""
        for _ in range(2):
            entry = (await self.entries([tweet_id])).get(tweet_id) if tweet_id > 0 else None
            if entry is None or entry.deleted:
                break
            if entry.tweet.kind != tweets_pb2.TWEET_KIND_RETWEET:
                return tweet_id, entry.tweet.author.user_id
            tweet_id = entry.tweet.retweet_of.tweet_id
        raise NotFound(TWEET_NOT_FOUND)

    async def created(self, tweet: TweetRecord, also: Queue | None = None) -> bool:
        """A new tweet into the cache, from the record just written: its version
        is its write time, and nothing else can have changed it yet. `also`
        rides the same round trip; False when it could not (a tweet with media,
        whose view is read back for the media's URLs), and the caller sends it."""
        if tweet.media_ids:  # its view needs the media's URLs
            await self.refresh([tweet.tweet_id])
            return also is None
        version = write_time(tweet.tweet_id)
        await self._cache.created([(tweet.tweet_id, Versioned(version, cached_entry(tweet, {})))],
                                  also)
        return True

    async def created_view(self, tweet: TweetRecord) -> tweets_pb2.Tweet | None:
        """A tweet just created, as its author sees it (nobody has liked or
        retweeted it yet), from the record written rather than read back through
        the cache, which `created` filled with the same entry. None when the
        view needs more than the record (media URLs, a quoted tweet to embed)."""
        if tweet.media_ids or tweet.quoted_tweet_id:
            return None
        entries = {tweet.tweet_id: cached_entry(tweet, {})}
        authors = await self._users.summaries({tweet.user_id})
        return render(tweet.tweet_id, entries, authors, set(), set())

    async def refresh(self, tweet_ids: Sequence[int]) -> None:
        """After a committed change: the new entries replace the cached ones in
        every tier, before the change's RPC answers. When the new view cannot be
        read (a media or database hiccup), the entries are marked unknown
        instead: the change's events must not wait for the cache."""
        await self.renew(tweet_ids)

    async def renew(self, tweet_ids: Sequence[int]) -> Entries:
        """`refresh`, returning the new entries (none when unreadable)."""
        ids = list(dict.fromkeys(tweet_ids))
        try:
            loaded = await self._load(ids)
        except Exception:
            log.warning("could not read the changed tweets; cache entries marked unknown",
                        tweet_ids=ids, exc_info=True)
            await self._cache.unknown(ids)
            return {}
        await self._cache.changed(list(loaded.items()))
        return {t: v.entry for t, v in loaded.items()}

    async def _load(self, ids: list[int]) -> dict[int, Versioned]:
        records = await self._store.get_versioned(ids)
        media = {m for record, _ in records.values() for m in record.media_ids}
        attachments = await self._media.attachments(media) if media else {}
        return {t: Versioned(version, cached_entry(record, attachments))
                for t, (record, version) in records.items()}

    async def _viewer_flags(self, viewer: int, targets: list[int],
                            cached: Flags | None) -> Flags:
        if cached is not None:
            return cached
        if not viewer or not targets:
            return set(), set()
        self._materialise_soon(viewer)
        return await self._store.viewer_flags(targets, viewer)

    def _materialise_soon(self, viewer: int) -> None:
        task = asyncio.create_task(self._materialise(viewer))
        self._loading.add(task)
        task.add_done_callback(self._loading.discard)

    async def _materialise(self, viewer: int) -> None:
        token = await self._flags.lease(viewer)
        if token is None:
            return
        try:
            liked, retweeted = await self._store.engaged_by(viewer)
            await self._flags.store(viewer, token, liked, retweeted)
        except Exception:
            log.warning("could not materialise viewer flags", viewer=viewer, exc_info=True)

    async def warm(self, recent_ids: Sequence[int]) -> None:
        """Reads these tweets through the tiers, so the first reads after a start
        find them hot."""
        for start in range(0, len(recent_ids), 100):
            await self.entries(recent_ids[start:start + 100])
