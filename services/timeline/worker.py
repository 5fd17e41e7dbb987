"""The fanout worker process: `python -m services.timeline.worker`.

Run any number of replicas; they share two durable pull consumers (tweet
events and follow events) on the event stream."""

from __future__ import annotations

import asyncio

from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared.contracts import subject, subject_filter
from services.shared.messaging import consumer, worker
from services.shared.messaging.consumer import ConsumerSpec, Progress
from services.timeline import wiring
from services.timeline.fanout import Fanout
from services.timeline.settings import TimelineSettings


def specs(fanout: Fanout, settings: TimelineSettings) -> list[ConsumerSpec]:
    async def created(_: str, data: bytes, progress: Progress) -> None:
        await fanout.tweet_created(tweet_events.TweetCreated.FromString(data), progress)

    async def deleted(_: str, data: bytes, progress: Progress) -> None:
        await fanout.tweet_deleted(tweet_events.TweetDeleted.FromString(data), progress)

    async def followed(_: str, data: bytes, progress: Progress) -> None:
        await fanout.follow_created(user_events.FollowCreated.FromString(data))

    async def unfollowed(_: str, data: bytes, progress: Progress) -> None:
        await fanout.follow_deleted(user_events.FollowDeleted.FromString(data))

    def spec(durable: str, handlers: dict[str, consumer.Handler]) -> ConsumerSpec:
        return ConsumerSpec(durable, subject_filter(handlers), handlers,
                            ack_wait_seconds=settings.fanout_ack_wait_seconds,
                            max_deliver=settings.fanout_max_deliver,
                            concurrency=settings.fanout_concurrency)

    return [
        spec("timeline-tweets", {subject(tweet_events.TweetCreated): created,
                                 subject(tweet_events.TweetDeleted): deleted}),
        spec("timeline-follows", {subject(user_events.FollowCreated): followed,
                                  subject(user_events.FollowDeleted): unfollowed}),
    ]


async def main() -> None:
    settings = TimelineSettings(service_name="timeline-worker")

    async def build() -> worker.Worker:
        conn = wiring.connect(settings)
        fanout = Fanout(conn.store, conn.users, conn.tweets,
                        celebrity_threshold=settings.celebrity_threshold)
        return worker.Worker(specs(fanout, settings), on_stop=[conn.close])

    await worker.run(settings, build)


if __name__ == "__main__":
    asyncio.run(main())
