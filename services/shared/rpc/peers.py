"""Typed clients for the internal RPCs of the users and tweets services, shared by
the services that call them (timeline, search, ...). Their channels carry the
failure policy (services/shared/rpc/clients.py): a peer's errors arrive here as
domain errors already (NOT_FOUND as NotFound, a peer that is down as
Unavailable), so these clients only shape requests and replies."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass

import grpc
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc
from twitter.users.v1 import events_pb2 as user_events
from twitter.users.v1 import lists_pb2, lists_pb2_grpc, users_pb2, users_pb2_grpc

from services.shared import contracts
from services.shared.errors import NotFound

TIMEOUT = 10.0
FOLLOWER_BATCH = 5000
HYDRATE_BATCH = 100
MAX_SUMMARY_IDS = 500  # BatchGetUserSummaries' limit
MAX_USERNAMES = 100  # BatchGetUsersByUsername's limit


@dataclass(frozen=True)
class FollowerPage:
    """The first batch of a user's follower ids, read with their follower count."""

    follower_count: int
    ids: list[int]
    next_token: str  # where follower_batches(after=) goes on; empty at the end


class UsersClient:
    def __init__(self, channel: grpc.aio.Channel, *, cache_seconds: float = 300.0,
                 cache_size: int = 50_000) -> None:
        self._stub = users_pb2_grpc.UserServiceStub(channel)
        self._lists = lists_pb2_grpc.ListServiceStub(channel)
        self._ttl = cache_seconds
        self._size = cache_size
        # user id -> (summary, when cached): profiles, dropped when a user-updated
        # event arrives (`follow_profile_updates`); the TTL bounds what a missed
        # event (a NATS reconnect) can leave stale.
        self._cache: OrderedDict[int, tuple[users_pb2.UserSummary, float]] = OrderedDict()

    async def follow_profile_updates(self, nc: Nats) -> None:
        """Drops a cached profile as soon as its user-updated event is published."""
        async def updated(msg: Msg) -> None:
            self.forget(user_events.UserUpdated.FromString(msg.data).user_id)

        await nc.subscribe(contracts.subject(user_events.UserUpdated), cb=updated)

    def forget(self, user_id: int) -> None:
        self._cache.pop(user_id, None)

    async def summaries(self, user_ids: Iterable[int]) -> dict[int, users_pb2.UserSummary]:
        """The users among the ids that exist, cached briefly (LRU, bounded)."""
        now = time.monotonic()
        found: dict[int, users_pb2.UserSummary] = {}
        missing: list[int] = []
        for user_id in set(user_ids):
            cached = self._cache.get(user_id)
            if cached and now - cached[1] < self._ttl:
                found[user_id] = cached[0]
            else:
                missing.append(user_id)
        for start in range(0, len(missing), MAX_SUMMARY_IDS):
            response = await self._stub.BatchGetUserSummaries(
                users_pb2.BatchGetUserSummariesRequest(
                    user_ids=missing[start:start + MAX_SUMMARY_IDS]), timeout=TIMEOUT)
            for user in response.users:
                found[user.user_id] = user
                self._remember(user)
        return found

    async def by_username(self, usernames: Sequence[str]) -> dict[str, users_pb2.UserSummary]:
        """Lower-cased username to summary, for the names that exist."""
        found: dict[str, users_pb2.UserSummary] = {}
        for start in range(0, len(usernames), MAX_USERNAMES):
            response = await self._stub.BatchGetUsersByUsername(
                users_pb2.BatchGetUsersByUsernameRequest(
                    usernames=list(usernames[start:start + MAX_USERNAMES])), timeout=TIMEOUT)
            for user in response.users:
                found[user.username.lower()] = user
                self._remember(user)
        return found

    async def follows(self, follower: int, followee: int) -> bool:
        response = await self._stub.CheckFollow(users_pb2.CheckFollowRequest(
            follower_id=follower, followee_id=followee), timeout=TIMEOUT)
        return bool(response.follows)

    async def viewer_relations(self, user_id: int) -> users_pb2.ViewerRelations:
        """Whom a user blocks, is blocked by and mutes (fills the relations cache)."""
        response = await self._stub.GetViewerRelations(
            users_pb2.GetViewerRelationsRequest(user_id=user_id), timeout=TIMEOUT)
        return response.relations

    def _remember(self, user: users_pb2.UserSummary) -> None:
        self._cache[user.user_id] = (user, time.monotonic())
        self._cache.move_to_end(user.user_id)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    async def first_followers(self, user_id: int, *, max_count: int = 0) -> FollowerPage:
        """The follower count with the first batch of follower ids, in one call
        (no ids when the count is above `max_count`, if that is above 0); 0 for
        a user who does not exist."""
        page = await self._stub.ListFollowerIds(users_pb2.ListFollowerIdsRequest(
            user_id=user_id, page_size=FOLLOWER_BATCH, max_follower_count=max_count),
            timeout=TIMEOUT)
        return FollowerPage(page.follower_count, list(page.follower_ids), page.next_page_token)

    async def follower_batches(self, user_id: int, *,
                               after: FollowerPage | None = None) -> AsyncIterator[list[int]]:
        """All follower ids (or those after the first page given), in batches
        of thousands (keyset-paged on an index)."""
        token = after.next_token if after else ""
        if after is not None and not token:
            return
        while True:
            page = await self._stub.ListFollowerIds(users_pb2.ListFollowerIdsRequest(
                user_id=user_id, page_size=FOLLOWER_BATCH, page_token=token), timeout=TIMEOUT)
            if page.follower_ids:
                yield list(page.follower_ids)
            token = page.next_page_token
            if not token:
                return

    async def following(self, user_id: int) -> list[int]:
        ids: list[int] = []
        token = ""
        while True:
            page = await self._stub.ListFollowingIds(users_pb2.ListFollowingIdsRequest(
                user_id=user_id, page_size=FOLLOWER_BATCH, page_token=token), timeout=TIMEOUT)
            ids.extend(page.following_ids)
            token = page.next_page_token
            if not token:
                return ids

    async def follower_count(self, user_id: int) -> int:
        try:
            response = await self._stub.GetFollowerCount(
                users_pb2.GetFollowerCountRequest(user_id=user_id), timeout=TIMEOUT)
        except NotFound:
            return 0
        return response.follower_count

    async def list_audience(self, list_id: int) -> lists_pb2.ListAudience:
        """Owner, privacy and members of a list (fills the audience cache);
        NotFound for a list that never existed."""
        response = await self._lists.GetListAudience(
            lists_pb2.GetListAudienceRequest(list_id=list_id), timeout=TIMEOUT)
        return response.audience

    async def ids_by_username(self, usernames: Sequence[str]) -> dict[str, int]:
        """Lower-cased username to id, for the names that exist."""
        return {name: u.user_id for name, u in (await self.by_username(usernames)).items()}


class TweetsClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = tweets_pb2_grpc.TweetServiceStub(channel)

    async def recent_ids(self, user_id: int, count: int, before: int = 0) -> list[int]:
        """A user's newest tweet and retweet ids (older than `before` when set),
        newest first."""
        response = await self._stub.ListRecentTweetIds(tweets_pb2.ListRecentTweetIdsRequest(
            user_id=user_id, page_size=count, before_tweet_id=before), timeout=TIMEOUT)
        return [t.tweet_id for t in response.tweets]

    async def hydrate(self, tweet_ids: Sequence[int], viewer_id: int) -> list[tweets_pb2.Tweet]:
        """Full tweets in the order asked; deleted or missing ones are left out."""
        batches = [tweet_ids[i:i + HYDRATE_BATCH]
                   for i in range(0, len(tweet_ids), HYDRATE_BATCH)]
        responses = await asyncio.gather(*(
            self._stub.BatchGetTweets(tweets_pb2.BatchGetTweetsRequest(
                tweet_ids=batch, viewer_user_id=viewer_id), timeout=TIMEOUT)
            for batch in batches))
        found = {t.tweet_id: t for r in responses for t in r.tweets}
        return [found[i] for i in tweet_ids if i in found]
