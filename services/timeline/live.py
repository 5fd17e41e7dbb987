"""Live timeline updates for connected readers.

One NATS subscription per timeline process receives every new tweet
(`twitter.tweet.created`, the same events the fanout consumes) and hands it
to the connected readers who follow its author. A slow reader's queue is
bounded: when it is full the oldest entry is dropped, never the process.

Streams are bounded too: a user has at most `per_user` open at once (across
processes: live_slots.py), each lasts at most `max_seconds` (then it ends
cleanly and the client reconnects, which re-checks its token), and a stream
whose session is revoked ends at once with UNAUTHENTICATED.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events

from services.shared.contracts import subject
from services.shared.errors import ResourceExhausted, Unauthenticated
from services.shared.logging import get_logger
from services.shared.peers import TweetsClient
from services.timeline.live_slots import StreamSlots

log = get_logger(__name__)

QUEUE_SIZE = 100


class _Reader:
    def __init__(self, user_id: int, session_id: int | None, following: set[int]) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.following = following | {user_id}
        # None wakes the stream up to find it revoked.
        self.queue: asyncio.Queue[tweets_pb2.Tweet | None] = asyncio.Queue(QUEUE_SIZE)
        self.revoked = False

    def offer(self, tweet: tweets_pb2.Tweet | None) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(tweet)

    def revoke(self) -> None:
        self.revoked = True
        self.offer(None)


@dataclass(frozen=True)
class StreamLimits:
    per_user: int = 5  # open streams per user, across processes
    max_seconds: float = 3600.0  # a stream's whole life


class LiveStream:
    """New home-timeline tweets, and None as a heartbeat when idle."""

    def __init__(self, hub: LiveHub, reader: _Reader, slot: str) -> None:
        self._hub = hub
        self._reader = reader
        self._slot = slot

    def __aiter__(self) -> AsyncIterator[tweets_pb2.Tweet | None]:
        return self._hub._run(self._reader, self._slot)

    async def close(self) -> None:
        """Frees the stream's slot (also when it was never iterated)."""
        await self._hub._close(self._reader, self._slot)


class LiveHub:
    def __init__(self, nc: Client, tweets: TweetsClient, *, heartbeat_seconds: float,
                 slots: StreamSlots, limits: StreamLimits = StreamLimits()) -> None:
        self._nc = nc
        self._tweets = tweets
        self.heartbeat_seconds = heartbeat_seconds
        self._slots = slots
        self._limits = limits
        self._by_author: dict[int, set[_Reader]] = defaultdict(set)
        self._by_user: dict[int, set[_Reader]] = defaultdict(set)
        self._by_session: dict[int, set[_Reader]] = defaultdict(set)
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        self._subs = [
            await self._nc.subscribe(subject(tweet_events.TweetCreated), cb=self._on_tweet),
            await self._nc.subscribe(subject(user_events.FollowCreated), cb=self._on_follow),
            await self._nc.subscribe(subject(user_events.FollowDeleted), cb=self._on_unfollow),
        ]

    async def stop(self) -> None:
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def open(self, user_id: int, session_id: int | None,
                   following: set[int]) -> LiveStream:
        """A new stream of the user's home timeline (the caller closes it).
        RESOURCE_EXHAUSTED when the user has as many open as allowed; raised
        here, before the caller answers anything."""
        too_many = ResourceExhausted(
            f"at most {self._limits.per_user} live streams at once: close one first")
        if len(self._by_user.get(user_id, ())) >= self._limits.per_user:
            raise too_many
        slot = await self._slots.take(user_id)
        if slot is None:
            raise too_many
        reader = _Reader(user_id, session_id, following)
        self._register(reader)
        return LiveStream(self, reader, slot)

    async def _run(self, reader: _Reader, slot: str) -> AsyncIterator[tweets_pb2.Tweet | None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.max_seconds
        renewed = time.monotonic()
        try:
            while (left := deadline - loop.time()) > 0:
                if time.monotonic() - renewed >= self.heartbeat_seconds:
                    await self._slots.renew(reader.user_id, slot)
                    renewed = time.monotonic()
                try:
                    tweet = await asyncio.wait_for(reader.queue.get(),
                                                   min(self.heartbeat_seconds, left))
                except TimeoutError:
                    if deadline - loop.time() > 0:
                        yield None
                    continue
                if reader.revoked:
                    raise Unauthenticated("the session has ended: log in again")
                if tweet is not None:
                    yield tweet
            # Past its lifetime the stream ends cleanly; the client reconnects,
            # which checks its token again.
        finally:
            await self._close(reader, slot)

    async def _close(self, reader: _Reader, slot: str) -> None:
        if reader in self._by_user.get(reader.user_id, ()):
            self._unregister(reader)
            await self._slots.release(reader.user_id, slot)

    def end_session(self, session_id: int) -> None:
        """Ends the streams of a revoked session (a RevokedSessions listener)."""
        for reader in list(self._by_session.get(session_id, ())):
            reader.revoke()

    def _register(self, reader: _Reader) -> None:
        self._by_user[reader.user_id].add(reader)
        if reader.session_id is not None:
            self._by_session[reader.session_id].add(reader)
        for author in reader.following:
            self._by_author[author].add(reader)

    def _unregister(self, reader: _Reader) -> None:
        self._by_user[reader.user_id].discard(reader)
        if not self._by_user[reader.user_id]:
            del self._by_user[reader.user_id]
        if reader.session_id is not None:
            readers_of_session = self._by_session.get(reader.session_id)
            if readers_of_session is not None:
                readers_of_session.discard(reader)
                if not readers_of_session:
                    del self._by_session[reader.session_id]
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
