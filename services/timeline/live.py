"""Live timeline updates for connected readers.

One NATS subscription per timeline process receives every new tweet
(`twitter.tweet.created`, the same events the fanout consumes) and hands it
to the connected readers who follow its author. A slow reader's queue is
bounded: when it is full the oldest entry is dropped, never the process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events

from services.shared.logging import get_logger
from services.shared.peers import TweetsClient

log = get_logger(__name__)

QUEUE_SIZE = 100


class _Reader:
    def __init__(self, user_id: int, following: set[int]) -> None:
        self.user_id = user_id
        self.following = following | {user_id}
        self.queue: asyncio.Queue[tweets_pb2.Tweet] = asyncio.Queue(QUEUE_SIZE)

    def offer(self, tweet: tweets_pb2.Tweet) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(tweet)


class LiveHub:
    def __init__(self, nc: Client, tweets: TweetsClient, *, heartbeat_seconds: float) -> None:
        self._nc = nc
        self._tweets = tweets
        self.heartbeat_seconds = heartbeat_seconds
        self._by_author: dict[int, set[_Reader]] = defaultdict(set)
        self._by_user: dict[int, set[_Reader]] = defaultdict(set)
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        self._subs = [
            await self._nc.subscribe("twitter.tweet.created", cb=self._on_tweet),
            await self._nc.subscribe("twitter.follow.created", cb=self._on_follow),
            await self._nc.subscribe("twitter.follow.deleted", cb=self._on_unfollow),
        ]

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def stream(self, user_id: int, following: set[int]
                     ) -> AsyncIterator[tweets_pb2.Tweet | None]:
        """Yields new home-timeline tweets, and None as a heartbeat when idle."""
        reader = _Reader(user_id, following)
        self._register(reader)
        try:
            while True:
                try:
                    yield await asyncio.wait_for(reader.queue.get(), self.heartbeat_seconds)
                except TimeoutError:
                    yield None
        finally:
            self._unregister(reader)

    def _register(self, reader: _Reader) -> None:
        self._by_user[reader.user_id].add(reader)
        for author in reader.following:
            self._by_author[author].add(reader)

    def _unregister(self, reader: _Reader) -> None:
        self._by_user[reader.user_id].discard(reader)
        if not self._by_user[reader.user_id]:
            del self._by_user[reader.user_id]
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

    async def _on_follow(self, msg: Msg) -> None:
        event = user_events.FollowCreated.FromString(msg.data)
        for reader in self._by_user.get(event.follower_id, ()):
            reader.following.add(event.followee_id)
            self._by_author[event.followee_id].add(reader)

    async def _on_unfollow(self, msg: Msg) -> None:
        event = user_events.FollowDeleted.FromString(msg.data)
        for reader in self._by_user.get(event.follower_id, ()):
            reader.following.discard(event.followee_id)
            readers = self._by_author.get(event.followee_id)
            if readers is not None:
                readers.discard(reader)
