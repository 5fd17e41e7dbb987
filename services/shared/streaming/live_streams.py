"""Live server streams to connected users (the home timeline's, the
notifications'): what they share, so each service only says what to send.

A slow reader's queue is bounded: when it is full the oldest item is dropped,
never the process. Streams are bounded too: a user has at most `per_user` open
at once across every process of the service (StreamSlots), each lasts at most
`max_seconds` (then it ends cleanly and the client reconnects, which re-checks
its token), and a stream whose session is revoked ends at once with
UNAUTHENTICATED. While idle a stream yields None every `heartbeat_seconds`
(the servicer sends a heartbeat).

StreamSlots: `<prefix>:{id}:streams` is a sorted set of the user's open
streams (a random id each), scored by when its lease runs out; each stream
renews its lease on every heartbeat, so the streams of a process that died
free their slots within one lease. One Lua script takes a slot atomically
(drop expired leases, count, add), so racing opens never exceed the cap.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from services.shared.errors import ResourceExhausted, Unauthenticated
from services.shared.observability.logging import get_logger
from services.shared.stores.redis_client import REDIS_ERRORS, RedisClient

log = get_logger(__name__)

QUEUE_SIZE = 100

_TAKE = """
local now, cap, expires = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= cap then return 0 end
redis.call('ZADD', KEYS[1], expires, ARGV[4])
redis.call('PEXPIREAT', KEYS[1], math.floor(expires * 1000) + 1000)
return 1
"""


class StreamSlots:
    """How many live streams each user has open, across every process of a
    service (`prefix` names the service's keys)."""

    def __init__(self, redis: RedisClient, *, per_user: int, lease_seconds: float,
                 prefix: str) -> None:
        self._redis = redis
        self.per_user = per_user
        self._lease = lease_seconds
        self._prefix = prefix
        self._take = redis.register_script(_TAKE)

    def key(self, user_id: int) -> str:
        return f"{self._prefix}:{{{user_id}}}:streams"

    async def take(self, user_id: int) -> str | None:
        """A slot for a new stream of the user (its id), or None at the cap.
        Redis being down does not stop streams: the caller's per-process cap
        still holds."""
        slot = uuid.uuid4().hex
        now = time.time()
        try:
            taken = await self._take(keys=[self.key(user_id)],
                                     args=[now, self.per_user, now + self._lease, slot])
        except REDIS_ERRORS:
            log.warning("stream slots unavailable; per-process cap only", user_id=user_id)
            return slot
        return slot if taken else None

    async def renew(self, user_id: int, slot: str) -> None:
        with contextlib.suppress(*REDIS_ERRORS):  # the lease runs out; the stream goes on
            await self._redis.zadd(self.key(user_id), {slot: time.time() + self._lease},
                                   xx=True)

    async def release(self, user_id: int, slot: str) -> None:
        with contextlib.suppress(*REDIS_ERRORS):  # the lease runs out
            await self._redis.zrem(self.key(user_id), slot)


@dataclass(frozen=True)
class StreamLimits:
    per_user: int = 5  # open streams per user, across processes
    max_seconds: float = 3600.0  # a stream's whole life


class Listener:
    """One open stream's end in this process: a bounded queue of items."""

    def __init__(self, user_id: int, session_id: int | None) -> None:
        self.user_id = user_id
        self.session_id = session_id
        # None wakes the stream up to find it revoked.
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_SIZE)
        self.revoked = False

    def offer(self, item: Any) -> None:
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(item)

    def revoke(self) -> None:
        self.revoked = True
        self.offer(None)


L = TypeVar("L", bound=Listener)


class LiveStream(Generic[L]):
    """A stream's items as they are offered, and None as a heartbeat when idle."""

    def __init__(self, streams: LiveStreams[L], listener: L, slot: str) -> None:
        self._streams = streams
        self._listener = listener
        self._slot = slot

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._streams._run(self._listener, self._slot)

    async def close(self) -> None:
        """Frees the stream's slot (also when it was never iterated)."""
        await self._streams._close(self._listener, self._slot)


class LiveStreams(Generic[L]):
    """The open streams of one process, by user and by session."""

    def __init__(self, *, heartbeat_seconds: float, slots: StreamSlots,
                 limits: StreamLimits = StreamLimits(),
                 on_close: Callable[[L], None] | None = None) -> None:
        self.heartbeat_seconds = heartbeat_seconds
        self._slots = slots
        self._limits = limits
        self._on_close = on_close
        self._by_user: dict[int, set[L]] = defaultdict(set)
        self._by_session: dict[int, set[L]] = defaultdict(set)

    def listeners(self, user_id: int) -> Iterable[L]:
        return tuple(self._by_user.get(user_id, ()))

    async def open(self, listener: L) -> LiveStream[L]:
        """A new stream for the listener (the caller closes it).
        RESOURCE_EXHAUSTED when its user has as many open as allowed; raised
        here, before the caller answers anything."""
        user_id = listener.user_id
        too_many = ResourceExhausted(
            f"at most {self._limits.per_user} live streams at once: close one first")
        if len(self._by_user.get(user_id, ())) >= self._limits.per_user:
            raise too_many
        slot = await self._slots.take(user_id)
        if slot is None:
            raise too_many
        self._by_user[user_id].add(listener)
        if listener.session_id is not None:
            self._by_session[listener.session_id].add(listener)
        return LiveStream(self, listener, slot)

    async def _run(self, listener: L, slot: str) -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._limits.max_seconds
        renewed = time.monotonic()
        try:
            while (left := deadline - loop.time()) > 0:
                if time.monotonic() - renewed >= self.heartbeat_seconds:
                    await self._slots.renew(listener.user_id, slot)
                    renewed = time.monotonic()
                try:
                    item = await asyncio.wait_for(listener.queue.get(),
                                                  min(self.heartbeat_seconds, left))
                except TimeoutError:
                    if deadline - loop.time() > 0:
                        yield None
                    continue
                if listener.revoked:
                    raise Unauthenticated("the session has ended: log in again")
                if item is not None:
                    yield item
            # Past its lifetime the stream ends cleanly; the client reconnects,
            # which checks its token again.
        finally:
            await self._close(listener, slot)

    async def _close(self, listener: L, slot: str) -> None:
        user_id = listener.user_id
        if listener not in self._by_user.get(user_id, ()):
            return
        self._by_user[user_id].discard(listener)
        if not self._by_user[user_id]:
            del self._by_user[user_id]
        if listener.session_id is not None:
            of_session = self._by_session.get(listener.session_id)
            if of_session is not None:
                of_session.discard(listener)
                if not of_session:
                    del self._by_session[listener.session_id]
        if self._on_close is not None:
            self._on_close(listener)
        await self._slots.release(user_id, slot)

    def end_session(self, session_id: int) -> None:
        """Ends the streams of a revoked session (a RevokedSessions listener)."""
        for listener in list(self._by_session.get(session_id, ())):
            listener.revoke()
