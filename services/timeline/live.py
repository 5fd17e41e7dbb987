"""Live timeline updates for connected readers.

One NATS subscription per timeline process receives every new tweet
(`twitter.tweet.created`, the same events the fanout consumes) and hands it
to the connected readers who follow its author; another does the same with
deletions (`twitter.tweet.deleted`), as a Deleted. Queues, caps, lifetimes and
revocation are the shared live streams' (services/shared/streaming/live_streams.py).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared.contracts import subject
from services.shared.observability.logging import get_logger
from services.shared.rpc.peers import TweetsClient
from services.shared.streaming.live_streams import (
    Listener,
    LiveStream,
    LiveStreams,
    StreamLimits,
    StreamSlots,
)

log = get_logger(__name__)
SLOTS_PREFIX = "tl"  # tl:{<id>}:streams (docs/REDIS_KEYS.md)
__all__ = ["SLOTS_PREFIX", "Deleted", "LiveHub", "LiveStream", "StreamLimits"]


@dataclass(frozen=True)
class Deleted:
    """A tweet of a followed author was deleted (a stream's item, beside the
    hydrated Tweets of new entries)."""

    tweet_id: int
    author_id: int


class _Reader(Listener):
    def __init__(self, user_id: int, session_id: int | None, following: set[int]) -> None:
        super().__init__(user_id, session_id)
        self.following = following | {user_id}


class LiveHub:
    def __init__(self, nc: Client, tweets: TweetsClient, *, heartbeat_seconds: float,
                 slots: StreamSlots, limits: StreamLimits | None = None) -> None:
        self._nc = nc
        self._tweets = tweets
        self._streams: LiveStreams[_Reader] = LiveStreams(
            heartbeat_seconds=heartbeat_seconds, slots=slots, limits=limits or StreamLimits(),
            on_close=self._unindex)
        self._by_author: dict[int, set[_Reader]] = defaultdict(set)
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        self._subs = [
            await self._nc.subscribe(subject(tweet_events.TweetCreated), cb=self._on_tweet),
            await self._nc.subscribe(subject(tweet_events.TweetDeleted), cb=self._on_delete),
            await self._nc.subscribe(subject(user_events.FollowCreated), cb=self._on_follow),
            await self._nc.subscribe(subject(user_events.FollowDeleted), cb=self._on_unfollow),
        ]

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def open(self, user_id: int, session_id: int | None,
                   following: set[int]) -> LiveStream[_Reader]:
        """A new stream of the user's home timeline (the caller closes it).
        RESOURCE_EXHAUSTED when the user has as many open as allowed."""
        reader = _Reader(user_id, session_id, following)
        stream = await self._streams.open(reader)
        for author in reader.following:
            self._by_author[author].add(reader)
        return stream

    def end_session(self, session_id: int) -> None:
        """Ends the streams of a revoked session (a RevokedSessions listener)."""
        self._streams.end_session(session_id)

    def _unindex(self, reader: _Reader) -> None:
        for author in reader.following:
            readers = self._by_author.get(author)
            if readers is not None:
                readers.discard(reader)
                if not readers:
                    del self._by_author[author]

    async def _on_tweet(self, msg: Msg) -> None:
        event = tweet_events.TweetCreated.FromString(msg.data)
        readers = list(self._by_author.get(event.author_user_id, ()))
        if not readers:
            return
        try:
            tweets = await self._tweets.hydrate([event.tweet_id], viewer_id=0)
        except Exception:
            log.exception("could not hydrate a live tweet", tweet_id=event.tweet_id)
            return
        for tweet in tweets:
            for reader in readers:
                reader.offer(tweet)

    async def _on_delete(self, msg: Msg) -> None:
        event = tweet_events.TweetDeleted.FromString(msg.data)
        deleted = Deleted(event.tweet_id, event.author_user_id)
        for reader in list(self._by_author.get(event.author_user_id, ())):
            reader.offer(deleted)

    async def _on_follow(self, msg: Msg) -> None:
        event = user_events.FollowCreated.FromString(msg.data)
        for reader in self._streams.listeners(event.follower_id):
            reader.following.add(event.followee_id)
            self._by_author[event.followee_id].add(reader)

    async def _on_unfollow(self, msg: Msg) -> None:
        event = user_events.FollowDeleted.FromString(msg.data)
        for reader in self._streams.listeners(event.follower_id):
            reader.following.discard(event.followee_id)
            readers = self._by_author.get(event.followee_id)
            if readers is not None:
                readers.discard(reader)
