"""Timeline entries to tweets as the reader sees them, from the tweet cache.

Round trips on a fully cached page: one Redis pipeline for the tweets and the
reader's flags (a second when retweets bring in originals that are neither on
the page nor hot in this process); profiles come from the users client's
in-process cache.
Whatever the cache cannot answer (misses, a reader whose flags are not
materialised, Redis down) is asked of the tweets service in one
BatchGetTweets call, which reads through the same cache and fills it.
"""

from __future__ import annotations

from collections.abc import Sequence

from twitter.tweets.v1 import tweets_pb2

from services.shared.rpc.peers import TweetsClient, UsersClient
from services.tweets.client.tweet_cache import TweetCache
from services.tweets.client.tweet_views import Entries, embeds, lookup_with_flags, people, render
from services.tweets.client.viewer_flags import ViewerFlags
from services.users.client.relations import masked, shows, visible


def _embeds_any(tweet_id: int, entries: Entries, unresolved: set[int]) -> bool:
    """Whether the tweet, or the tweet it embeds, embeds an unresolved one."""
    for _ in range(2):
        entry = entries.get(tweet_id)
        tweet_id = embeds(entry) if entry is not None else 0
        if not tweet_id:
            return False
        if tweet_id in unresolved:
            return True
    return False


class Hydrator:
    def __init__(self, cache: TweetCache, flags: ViewerFlags, users: UsersClient,
                 tweets: TweetsClient) -> None:
        self._cache = cache
        self._flags = flags
        self._users = users
        self._tweets = tweets

    async def tweets(self, tweet_ids: Sequence[int], viewer: int, limit: int | None = None,
                     *, hidden: frozenset[int] = frozenset()) -> list[tweets_pb2.Tweet]:
        """The tweets in the order given, deleted and missing ones, and those
        by or retweeting the `hidden` users, left out; at most `limit` of them
        when set."""
        ids = list(dict.fromkeys(tweet_ids))
        entries, flags, originals = await lookup_with_flags(self._cache.get, self._flags,
                                                            ids, viewer, self._cache.peek)
        if flags is None or not entries:
            return visible(await self._tweets.hydrate(ids, viewer), hidden)[:limit]
        unresolved = {t for t in ids if t not in entries} | (originals - entries.keys())
        # Misses, and tweets whose retweeted original or quoted tweet (or the
        # tweet their original quotes) missed, are fetched whole.
        asked = {t for t in ids if t in unresolved or _embeds_any(t, entries, unresolved)}
        fetched = {t.tweet_id: t for t in await self._tweets.hydrate(
            [t for t in ids if t in asked], viewer)} if asked else {}
        authors = await self._users.summaries(people(entries))
        liked, retweeted = flags
        page = []
        for tweet_id in ids:
            if tweet_id in asked:
                tweet = fetched.get(tweet_id)  # None: deleted or missing
            else:
                tweet = render(tweet_id, entries, authors, liked, retweeted)
            if tweet is not None and (not hidden or shows(tweet, hidden)):
                page.append(masked(tweet, hidden))
                if len(page) == limit:
                    break
        return page

