"""The tweets service's composition root: builds its stores, peer clients and
service objects from settings, for the server and tests alike."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import grpc
from nats.aio.client import Client

from services.shared.concurrency.background import Job
from services.shared.concurrency.keyed_lock import KeyedLocks
from services.shared.messaging import events as jetstream
from services.shared.messaging.cql_outbox import IntentLog, IntentRelay
from services.shared.observability.logging import get_logger
from services.shared.resilience import deadline
from services.shared.rpc.clients import internal_channel
from services.shared.snowflake.cql_worker_lease import CqlLeaseStore
from services.shared.snowflake.ids import IdGenerator
from services.shared.snowflake.worker_lease import WorkerLease
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.shared.stores.redis_client import RedisClient
from services.tweets.bookmark_store import BookmarkStore
from services.tweets.bookmarks import Bookmarks
from services.tweets.client.tweet_cache import TweetCache
from services.tweets.client.viewer_flags import ViewerFlags
from services.tweets.counts import Counter
from services.tweets.engagement import Engagement
from services.tweets.events import Publish
from services.tweets.followups import FollowUps
from services.tweets.media import MediaClient
from services.tweets.outbox import Outbox
from services.tweets.pairs import PairWriter
from services.tweets.polls.ends import POLL_ENDS_TABLE, PollEnder, PollEndLog
from services.tweets.polls.service import Polls
from services.tweets.polls.votes import PollVotes
from services.tweets.reads import WARM_COUNT, CachedReads, Reader
from services.tweets.repository import TweetStore
from services.tweets.settings import TweetsSettings
from services.tweets.tweets import Tweets
from services.tweets.user_pages import UserPages
from services.tweets.users import UsersClient
from services.tweets.visibility import Visibility
from services.users.client.relations import RelationsCache

log = get_logger(__name__)
OUTBOX_TABLE = "tweets_outbox"
# How long a request waits for the stream's ack before leaving it to the relay.
INLINE_PUBLISH_SECONDS = 1.0


@dataclass(frozen=True)
class Components:
    """The service's objects, for the server and for tests that drive them directly."""

    store: TweetStore
    outbox: Outbox
    relay: IntentRelay
    tweets: Tweets
    engagement: Engagement
    media: MediaClient
    reads: CachedReads
    cache: TweetCache
    flags: ViewerFlags
    users: UsersClient
    counter: Counter
    lease: WorkerLease
    visibility: Visibility
    bookmarks: Bookmarks
    polls: Polls
    poll_relay: IntentRelay
    poll_ender: PollEnder
    pages: UserPages


async def assemble(settings: TweetsSettings, cql: Cql, users_channel: grpc.aio.Channel,
                   publish: Publish, media_channel: grpc.aio.Channel,
                   redis: RedisClient) -> Components:
    lease = await WorkerLease.start(await CqlLeaseStore.open(cql, "tweets"),
                                    settings)
    ids = IdGenerator(lease)
    store = await TweetStore.open(cql)
    cache = TweetCache(redis, hot_size=settings.tweet_cache_hot_size,
                       hot_ttl_seconds=settings.tweet_cache_hot_seconds,
                       warm_ttl_seconds=settings.tweet_cache_warm_seconds)
    flags = ViewerFlags(redis)
    users = UsersClient(users_channel, cache_seconds=settings.author_cache_seconds)
    media = MediaClient(media_channel)
    reads = CachedReads(cache, flags, store, media, users)

    async def listed(user_id: int, size: int, token: str) -> tuple[list[int], str]:
        # The Tweets built below: its outbox tells the pages of every change.
        return await tweets.list_user_tweets(user_id, size, token)
    pages = UserPages(listed, reads, cache, redis, size=settings.user_pages_size,
                      ttl_seconds=settings.user_pages_seconds)
    intents = await IntentLog.open(cql, OUTBOX_TABLE, shards=settings.outbox_shards,
                                   slot_seconds=settings.outbox_slot_seconds)
    counter = Counter(store, reads.refresh)
    pairs = PairWriter(store, intents, counter, publish, pages.retweets_changed)
    poll_ends = await PollEndLog.open(cql, POLL_ENDS_TABLE, shards=settings.poll_end_shards,
                                      slot_seconds=settings.poll_end_slot_seconds)
    votes = await PollVotes.open(cql)
    polls = Polls(store, reads, votes,
                  min_duration=timedelta(seconds=settings.poll_min_duration_seconds))
    poll_ender = PollEnder(store, votes, poll_ends, publish,
                           page_size=settings.poll_end_page_size)
    poll_relay = IntentRelay(poll_ends, poll_ender.resolve,
                             grace_seconds=settings.poll_end_grace_seconds,
                             poll_seconds=settings.poll_end_poll_seconds)
    followups = FollowUps(store, counter, poll_ends, indexed=pages.changed)
    outbox = Outbox(store, intents, ids, followups, pairs, publish,
                    KeyedLocks(),
                    event_ttl_seconds=int(timedelta(days=settings.event_ttl_days).total_seconds()),
                    changed=reads.refresh, created=pages.created)
    relay = IntentRelay(intents, outbox.resolve, grace_seconds=settings.outbox_grace_seconds,
                        poll_seconds=settings.outbox_poll_seconds)
    engagement = Engagement(store, reads, pairs, users, ids, flags)
    tweets = Tweets(store, outbox, Reader(store), reads, users, engagement, ids, media,
                    polls=polls, edit_window=timedelta(minutes=settings.edit_window_minutes))
    visibility = Visibility(RelationsCache(redis, users), reads)
    bookmarks = Bookmarks(await BookmarkStore.open(cql), reads, ids)
    return Components(store, outbox, relay, tweets, engagement, media, reads, cache, flags,
                      users, counter, lease, visibility, bookmarks, polls, poll_relay,
                      poll_ender, pages)


async def _settle_caches(parts: Components) -> None:
    """Retries what a Redis outage left undone (generation bump, dropped flag sets)."""
    while True:
        await asyncio.sleep(1.0)
        await parts.cache.retry_pending()
        await parts.flags.settle()


async def _warm(parts: Components) -> None:
    """Reads the most recently changed tweets (likes, retweets, replies and edits
    all land in the invalidation stream) into the hot tier at start."""
    try:
        await parts.reads.warm(await parts.cache.recently_changed(WARM_COUNT))
    except Exception:
        log.warning("cache warming failed; the cache fills on demand", exc_info=True)


@dataclass(frozen=True)
class Service:
    """The components over their connections, with the jobs they need."""

    parts: Components
    cql: Cql
    nc: Client
    redis: RedisClient
    users_channel: grpc.aio.Channel  # also where the JWKS comes from
    media_channel: grpc.aio.Channel

    def background(self) -> dict[str, Job]:
        return {"outbox-relay": self.parts.relay.run,
                "poll-ends": self.parts.poll_relay.run,
                "cache-settle": lambda: _settle_caches(self.parts),
                "cache-warming": lambda: _warm(self.parts)}

    async def close(self) -> None:
        await self.parts.outbox.close()
        await self.nc.drain()
        await self.redis.aclose()
        await self.users_channel.close()
        await self.media_channel.close()
        await self.parts.lease.stop()
        await self.cql.close()


async def build(settings: TweetsSettings) -> Service:
    cql = await Cql.connect(settings, request_timeout=settings.cql_request_timeout_seconds,
                            concurrency=settings.cql_concurrency)
    nc, js = await jetstream.connect(settings.nats_url, name=settings.service_name)
    await jetstream.ensure_stream(js, jetstream.StreamLimits.of(settings))
    users_channel = internal_channel(settings.users_addr,
                                     settings.internal_token.get_secret_value(), peer="users")
    media_channel = internal_channel(settings.media_addr,
                                     settings.internal_token.get_secret_value(), peer="media")

    async def publish(event: jetstream.Event) -> None:
        # Inside a request every publish follows a durable intent the outbox
        # relay finishes, so a slow ack (a stream leader election takes seconds
        # when a NATS server dies) is left to the relay instead of held.
        inline = deadline.remaining() is not None
        await jetstream.publish(js, event, timeout=INLINE_PUBLISH_SECONDS if inline else None)

    redis = redis_client.connect(settings.redis_url)
    parts = await assemble(settings, cql, users_channel, publish, media_channel, redis)
    await parts.users.follow_profile_updates(nc)
    return Service(parts, cql, nc, redis, users_channel, media_channel)
