"""The stored tweet as the write paths need it (alive, or NOT_FOUND; what a like
acts on), and page bounds. Reads for viewers go through cached_reads.py."""

from __future__ import annotations

from services.shared.errors import InvalidArgument, NotFound
from services.shared.pagination import decode_token
from services.tweets.domain import Kind, TweetRecord
from services.tweets.repository import TweetStore

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
    def __init__(self, store: TweetStore) -> None:
        self._store = store

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
