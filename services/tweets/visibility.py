"""Blocks as the tweets service applies them (services/users/client/relations.py):
what a user who is blocked cannot see is NOT_FOUND, as if it did not exist
(Mastodon answers a blocked account the same way); what a user who can see a
tweet may not do to it because they block its author is PERMISSION_DENIED.

- direct reads (a tweet, a user's tweets, a tweet's replies, likes, edits):
  NOT_FOUND when the author (or a retweet's original author) blocks the viewer;
- lists (a user's tweets, replies, likers): without the users the viewer
  blocks or is blocked by;
- replies, likes and retweets: NOT_FOUND when the author blocks the caller,
  PERMISSION_DENIED when the caller blocks the author;
- edits and deletes: NOT_FOUND when the author blocks the caller (anyone
  else's tweet is PERMISSION_DENIED, which would show that it exists).
The whole convention: docs/SECURITY.md, "Blocks".
"""

from __future__ import annotations

import asyncio

from twitter.tweets.v1 import tweets_pb2

from services.shared.errors import NotFound, PermissionDenied
from services.tweets.reads import TWEET_NOT_FOUND, CachedReads
from services.users.client.relations import Relations, RelationsCache, RelationsRider, shows


class Visibility:
    def __init__(self, relations: RelationsCache, reads: CachedReads) -> None:
        self._relations = relations
        self._reads = reads

    async def of(self, viewer: int) -> Relations:
        return await self._relations.of(viewer)

    @staticmethod
    def rider(viewer: int) -> RelationsRider:
        """The viewer's relations, read in the round trip of a read of tweets."""
        return RelationsRider(viewer)

    async def heard(self, rider: RelationsRider) -> Relations:
        return await self._relations.heard(rider)

    async def may_interact(self, caller: int, tweet_id: int) -> tuple[int, int]:
        """Whether the caller may reply to, like or retweet a tweet; returns what
        a like or retweet of it acts on and its author (reads.CachedReads.target),
        so the change need not look it up again."""
        (target, author), relations = await asyncio.gather(self._reads.target(tweet_id),
                                                           self._relations.of(caller))
        if author in relations.blocked_by:
            raise NotFound(TWEET_NOT_FOUND)
        if author in relations.blocked:
            raise PermissionDenied("you block this tweet's author: unblock them first")
        return target, author

    async def readable(self, viewer: int, tweet_id: int) -> Relations:
        """The viewer's relations, once the tweet is known to be theirs to see."""
        relations = await self._relations.of(viewer)
        if relations.blocked_by:
            found = await self._reads.tweets([tweet_id], viewer)
            if found and not shows(found[0], relations.blocked_by):
                raise NotFound(TWEET_NOT_FOUND)
        return relations

    @staticmethod
    def require_visible(tweet: tweets_pb2.Tweet, relations: Relations) -> tweets_pb2.Tweet:
        if not shows(tweet, relations.blocked_by):
            raise NotFound(TWEET_NOT_FOUND)
        return tweet
