"""Reading tweets for a viewer: records, the originals of retweets, authors and
viewer flags, each stage fetched concurrently."""

from __future__ import annotations

import asyncio

from services.shared.errors import InvalidArgument, NotFound
from services.shared.pagination import decode_token
from services.tweets.domain import Kind, TweetRecord, TweetView
from services.tweets.repository import TweetStore
from services.tweets.users import UsersClient

TWEET_NOT_FOUND = "tweet not found"
NO_UPPER_BOUND = (1 << 63) - 1


def page_bound(page_token: str, key: str, owner: int) -> int:
    """The exclusive upper bound (an id) a page token carries; a token issued for
    another list is INVALID_ARGUMENT."""
    cursor = decode_token(page_token, keys=(key, "b"))
    if cursor is None:
        return NO_UPPER_BOUND
    if cursor[key] != owner or not isinstance(cursor["b"], int):
        raise InvalidArgument.field("page_token", "was not issued for this list")
    return int(cursor["b"])


class Reader:
    def __init__(self, store: TweetStore, users: UsersClient) -> None:
        self._store = store
        self._users = users

    async def alive(self, tweet_id: int, *, serial: bool = False) -> TweetRecord:
        """The tweet as stored; NOT_FOUND when it does not exist or is deleted."""
        tweet = await self._store.get(tweet_id, serial=serial) if tweet_id > 0 else None
        if tweet is None or tweet.deleted:
            raise NotFound(TWEET_NOT_FOUND)
        return tweet

    async def target(self, tweet_id: int) -> TweetRecord:
        """What a like or retweet acts on: the tweet, or the original of a retweet."""
        tweet = await self.alive(tweet_id)
        return await self.alive(tweet.retweet_of) if tweet.kind is Kind.RETWEET else tweet

    async def view(self, tweet_id: int, viewer: int) -> TweetView:
        views = await self.views([tweet_id], viewer)
        if not views:
            raise NotFound(TWEET_NOT_FOUND)
        return views[0]

    async def views(self, tweet_ids: list[int], viewer: int) -> list[TweetView]:
        """Tweets in the order asked, once each; deleted and unknown ones, and
        retweets whose original is gone, are left out."""
        ids = list(dict.fromkeys(t for t in tweet_ids if t > 0))
        records = {k: v for k, v in (await self._store.get_many(ids)).items() if not v.deleted}
        originals_wanted = {r.retweet_of for r in records.values()
                            if r.kind is Kind.RETWEET} - records.keys()
        if originals_wanted:
            found = await self._store.get_many(sorted(originals_wanted))
            records |= {k: v for k, v in found.items() if not v.deleted}
        shown = [records[t] for t in ids if t in records and (
            records[t].kind is not Kind.RETWEET or records[t].retweet_of in records)]
        # Viewer flags belong to originals (for a retweet they sit on retweet_of).
        flagged = [r.tweet_id if r.kind is not Kind.RETWEET else r.retweet_of for r in shown]
        people = {r.user_id for r in shown} | {records[r.retweet_of].user_id for r in shown
                                                if r.kind is Kind.RETWEET}
        (liked, retweeted), authors = await asyncio.gather(
            self._flags(flagged, viewer), self._users.authors(people))

        def view(record: TweetRecord) -> TweetView:
            if record.kind is Kind.RETWEET:
                original = view(records[record.retweet_of])
                return TweetView(record, authors.get(record.user_id), retweet_of=original)
            return TweetView(record, authors.get(record.user_id),
                             liked_by_viewer=record.tweet_id in liked,
                             retweeted_by_viewer=record.tweet_id in retweeted)

        return [view(r) for r in shown]

    async def _flags(self, tweet_ids: list[int], viewer: int) -> tuple[set[int], set[int]]:
        if not viewer or not tweet_ids:
            return set(), set()
        return await self._store.viewer_flags(tweet_ids, viewer)
