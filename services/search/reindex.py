"""`python -m services.search.reindex`: rebuilds the search index of the
configured backend (Meilisearch when MEILISEARCH_URL is set, PostgreSQL
otherwise) from the users and tweets services, without downtime.

1. A new index fills beside the live one: every user (ListUsers), then each
   user's tweets and replies (ListRecentTweetIds, BatchGetTweets).
2. It is swapped in at once: Meilisearch swaps both indexes in one task,
   PostgreSQL renames both tables in one transaction. Searches are answered
   throughout, from the old index until the swap.
3. What changed while it filled is replayed from the event stream (from the
   rebuild's start, through the indexer's idempotent handlers), so no change
   made during the rebuild is lost across the swap.

Progress goes to stderr every few seconds.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from twitter.tweets.v1 import tweets_pb2_grpc
from twitter.users.v1 import users_pb2_grpc

from services.search import sources, wiring
from services.search.backend import Rebuild
from services.search.indexer import Indexer
from services.search.settings import SearchSettings
from services.shared.messaging import events as jetstream
from services.shared.messaging.consumer import Handlers
from services.shared.rpc.clients import internal_channel

# Users whose tweets are read at once.
CONCURRENT_USERS = 32
PROGRESS_SECONDS = 5.0
# Events published shortly before the start may describe changes the sources
# already showed; replaying them again is harmless (handlers are idempotent).
REPLAY_MARGIN = timedelta(seconds=30)
REPLAY_FETCH = 512


class Progress:
    def __init__(self) -> None:
        self.users = self.tweets = 0
        self._started = self._shown = time.monotonic()

    def show(self, stage: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._shown >= PROGRESS_SECONDS:
            self._shown = now
            elapsed = now - self._started
            print(f"reindex: {stage}: {self.users:,} users, {self.tweets:,} tweets"
                  f" in {elapsed:.0f} s ({self.tweets / max(elapsed, 1e-9):,.0f} tweets/s)",
                  file=sys.stderr, flush=True)


async def fill(rebuild: Rebuild, users: users_pb2_grpc.UserServiceAsyncStub,
               tweets: tweets_pb2_grpc.TweetServiceAsyncStub, progress: Progress) -> None:
    user_ids: list[int] = []
    async for page in sources.users(users):
        await rebuild.add_users(page)
        user_ids += [u.user_id for u in page]
        progress.users += len(page)
        progress.show("users")
    queue: asyncio.Queue[int] = asyncio.Queue()
    for user_id in user_ids:
        queue.put_nowait(user_id)
    writes = asyncio.Lock()  # a rebuild takes one batch at a time

    async def read_tweets() -> None:
        while not queue.empty():
            user_id = queue.get_nowait()
            async for docs in sources.user_tweets(tweets, user_id):
                async with writes:
                    await rebuild.add_tweets(docs)
                progress.tweets += len(docs)
                progress.show("tweets")

    await asyncio.gather(*(read_tweets() for _ in range(CONCURRENT_USERS)))


async def replay(js: JetStreamContext, indexer: Indexer, since: datetime) -> int:
    """Applies every event published since `since`, up to the stream's end as
    it is now; returns how many."""
    last = (await js.stream_info(jetstream.STREAM)).state.last_seq
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since,
                            ack_policy=AckPolicy.NONE, inactive_threshold=60.0)
    sub = await js.pull_subscribe("twitter.>", stream=jetstream.STREAM, config=config)
    handlers, done = indexer.register(Handlers()), 0

    async def nothing() -> None:
        return None

    try:
        while True:
            try:
                batch = await sub.fetch(REPLAY_FETCH, timeout=2.0)
            except (NatsTimeout, TimeoutError):
                return done  # nothing published since `since` is left
            # One batch at a time, concurrently inside: the indexer coalesces them.
            await asyncio.gather(*(handlers[m.subject](m.subject, m.data, nothing)
                                   for m in batch if m.subject in handlers))
            done += len(batch)
            if batch[-1].metadata.sequence.stream >= last:
                return done
    finally:
        await sub.unsubscribe()


async def reindex(settings: SearchSettings) -> None:
    token = settings.internal_token.get_secret_value()
    users_channel = internal_channel(settings.users_addr, token, peer="users")
    tweets_channel = internal_channel(settings.tweets_addr, token, peer="tweets")
    nc, js = await jetstream.connect(settings.nats_url, name="search-reindex")
    indexing = await wiring.build_indexer(settings)
    name = "Meilisearch" if settings.meilisearch_url else "PostgreSQL"
    progress = Progress()
    since = datetime.now(UTC) - REPLAY_MARGIN
    try:
        print(f"reindex: rebuilding the {name} index beside the live one", file=sys.stderr)
        rebuild = await indexing.backend.rebuild()
        try:
            await fill(rebuild, users_pb2_grpc.UserServiceStub(users_channel),
                       tweets_pb2_grpc.TweetServiceStub(tweets_channel), progress)
            progress.show("filled, swapping in", force=True)
            await rebuild.swap()
        except BaseException:
            await rebuild.discard()
            raise
        replayed = await replay(js, indexing.indexer, since)
        progress.show(f"swapped in; replayed {replayed:,} events since the start", force=True)
    finally:
        await indexing.close()
        await nc.close()
        await users_channel.close()
        await tweets_channel.close()


def main() -> None:
    asyncio.run(reindex(SearchSettings(service_name="search-reindex")))


if __name__ == "__main__":
    main()
