"""Pinned tweets (service layer): one per profile, only one's own tweet.

The pin is a column of the user's row; the tweet is the tweets service's, asked
through its internal BatchGetTweets (read through its tweet cache).

A pin whose tweet was deleted is cleared when a profile read meets it, rather
than by a consumer of TweetDeleted: the users service runs no JetStream
consumer (a new worker deployment for one column), and checking at read also
settles a pin racing the tweet's deletion without any ordering argument. The
cost is one cached tweet lookup per read of a profile that has a pin. When the
tweets service cannot answer, the profile shows the pin as stored (at worst
the id of a deleted tweet, which reads as NOT_FOUND) rather than failing.
"""

from __future__ import annotations

from dataclasses import replace

from psycopg_pool import AsyncConnectionPool
from twitter.tweets.v1 import tweets_pb2

from services.shared.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from services.shared.observability.logging import get_logger
from services.shared.rpc.peers import TweetsClient
from services.users import relations_repository as relations
from services.users import repository
from services.users.domain import UserRecord

log = get_logger(__name__)


class Pins:
    def __init__(self, pool: AsyncConnectionPool, tweets: TweetsClient) -> None:
        self._pool = pool
        self._tweets = tweets

    async def pin(self, caller: int, user_id: int, tweet_id: int) -> UserRecord:
        if caller != user_id:
            raise PermissionDenied("you may only pin a tweet as yourself")
        if tweet_id <= 0:
            raise InvalidArgument.field("tweet_id", "must be a tweet id")
        found = await self._tweets.hydrate([tweet_id], caller)
        if not found:
            raise NotFound("tweet not found")
        tweet = found[0]
        if tweet.user_id != caller:
            async with self._pool.connection() as conn:
                if await relations.blocks(conn, tweet.user_id, caller):
                    raise NotFound("tweet not found")  # as to every read of it
            raise PermissionDenied("only your own tweets can be pinned")
        if tweet.kind == tweets_pb2.TWEET_KIND_RETWEET:
            raise FailedPrecondition("a retweet cannot be pinned: pin your own tweets")
        return await self._set(caller, tweet_id)

    async def unpin(self, caller: int, user_id: int) -> UserRecord:
        if caller != user_id:
            raise PermissionDenied("you may only unpin a tweet as yourself")
        return await self._set(caller, None)

    async def shown(self, user: UserRecord) -> UserRecord:
        """The profile as read, without a pin whose tweet is gone (cleared)."""
        pinned = user.pinned_tweet_id
        if not pinned:
            return user
        try:
            alive = bool(await self._tweets.hydrate([pinned], 0))
        except (Unavailable, DeadlineExceeded):  # the peer call's mapped failures
            log.warning("could not check the pinned tweet", user_id=user.user_id,
                        tweet_id=pinned, exc_info=True)
            return user
        if alive:
            return user
        async with self._pool.connection() as conn, conn.transaction():
            await repository.clear_pin_of(conn, user.user_id, pinned)
        return replace(user, pinned_tweet_id=0)

    async def _set(self, user_id: int, tweet_id: int | None) -> UserRecord:
        async with self._pool.connection() as conn, conn.transaction():
            user = await repository.set_pinned(conn, user_id, tweet_id)
        if user is None:
            raise NotFound("user not found")
        return user
