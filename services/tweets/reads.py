"""The stored tweet as edits and deletes need it (alive, or NOT_FOUND, read
from Cassandra), and page bounds. Other reads, including what a like, retweet
or reply acts on, go through cached_reads.py."""

from __future__ import annotations

from services.shared.errors import NotFound
from services.shared.paging.cursor import LastId, ListCursor, PageRequest, last_id
from services.tweets.domain import TweetRecord
from services.tweets.repository import TweetStore

TWEET_NOT_FOUND = "tweet not found"
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
    def __init__(self, store: TweetStore) -> None:
        self._store = store

    async def alive(self, tweet_id: int, *, serial: bool = False) -> TweetRecord:
        """The tweet as stored; NOT_FOUND when it does not exist or is deleted."""
        tweet = await self._store.get(tweet_id, serial=serial) if tweet_id > 0 else None
        if tweet is None or tweet.deleted:
            raise NotFound(TWEET_NOT_FOUND)
        return tweet
