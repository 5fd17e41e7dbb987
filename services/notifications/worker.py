"""The notifications worker process: `python -m services.notifications.worker`.

Replicas share one durable pull consumer over the follow, list-member and
tweet events; a new deployment starts with the events published from then on
(notifying people of last week's likes would be noise)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events

from services.notifications.live import LivePublisher
from services.notifications.notifier import Notifier
from services.notifications.repository import NotificationStore
from services.notifications.settings import NotificationsSettings
from services.notifications.visibility import BlocksAndMutes
from services.shared.contracts import subject, subject_filter
from services.shared.messaging import consumer, worker
from services.shared.messaging import events as jetstream
from services.shared.messaging.consumer import ConsumerSpec, Progress
from services.shared.rpc.clients import internal_channel
from services.shared.rpc.peers import TweetsClient, UsersClient
from services.shared.stores import redis_client
from services.shared.stores.cassandra import Cql
from services.users.client.relations import RelationsCache

DURABLE = "notifications"
M = TypeVar("M", bound=Message)


def _on(event: type[M], handle: Callable[[M], Awaitable[None]]
        ) -> tuple[str, consumer.Handler]:
    """The event's subject (from its contract) and a handler that parses it."""
    async def run(_: str, data: bytes, progress: Progress) -> None:
        await handle(event.FromString(data))
    return subject(event), run


def handlers(notifier: Notifier) -> dict[str, consumer.Handler]:
    return dict([
        _on(user_events.FollowCreated, notifier.followed),
        _on(user_events.FollowDeleted, notifier.unfollowed),
        _on(user_events.ListMemberAdded, notifier.list_member_added),
        _on(tweet_events.TweetCreated, notifier.tweet_created),
        _on(tweet_events.TweetEdited, notifier.tweet_edited),
        _on(tweet_events.TweetDeleted, notifier.tweet_deleted),
        _on(tweet_events.TweetLiked, notifier.liked),
        _on(tweet_events.TweetUnliked, notifier.unliked),
        _on(tweet_events.TweetRetweeted, notifier.retweeted),
        _on(tweet_events.TweetUnretweeted, notifier.unretweeted),
        _on(tweet_events.PollEnded, notifier.poll_ended),
    ])


async def main() -> None:
    settings = NotificationsSettings(service_name="notifications-worker")

    async def build() -> worker.Worker:
        cql = await Cql.connect(settings)
        tweets_channel = internal_channel(settings.tweets_addr,
                                          settings.internal_token.get_secret_value(),
                                          peer="tweets")
        tweets = TweetsClient(tweets_channel)
        users_channel = internal_channel(settings.users_addr,
                                         settings.internal_token.get_secret_value(),
                                         peer="users")
        redis = redis_client.connect(settings.redis_url)
        relations = BlocksAndMutes(RelationsCache(redis, UsersClient(users_channel)))
        # A connection of its own for live hints (the runner's is for the stream).
        nc, _ = await jetstream.connect(settings.nats_url, name=settings.service_name)

        async def hydrate(ids: list[int]) -> list[tweets_pb2.Tweet]:
            return await tweets.hydrate(ids, viewer_id=0)

        notifier = Notifier(await NotificationStore.open(cql), hydrate, relations,
                            LivePublisher(nc), window_seconds=settings.group_window_seconds)
        on = handlers(notifier)
        spec = ConsumerSpec(DURABLE, subject_filter(on), on,
                            ack_wait_seconds=settings.notify_ack_wait_seconds,
                            max_deliver=settings.notify_max_deliver,
                            concurrency=settings.notify_concurrency)

        async def stop() -> None:
            await nc.drain()
            await tweets_channel.close()
            await users_channel.close()
            await redis.aclose()
            await cql.close()

        return worker.Worker([spec], on_stop=[stop])

    await worker.run(settings, build)


if __name__ == "__main__":
    asyncio.run(main())
