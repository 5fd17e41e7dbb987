"""The fanout worker process: `python -m services.timeline.worker`.

Run any number of replicas; they share two durable pull consumers (tweet
events and follow events) on the event stream."""

from __future__ import annotations

import asyncio

from prometheus_client import start_http_server
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared import consumer
from services.shared import events as jetstream
from services.shared.consumer import ConsumerSpec, Progress
from services.shared.logging import configure_logging, get_logger
from services.shared.telemetry import configure_tracing
from services.timeline import wiring
from services.timeline.fanout import Fanout
from services.timeline.settings import TimelineSettings

log = get_logger(__name__)


def specs(fanout: Fanout, settings: TimelineSettings) -> list[ConsumerSpec]:
    async def created(_: str, data: bytes, progress: Progress) -> None:
        await fanout.tweet_created(tweet_events.TweetCreated.FromString(data), progress)

    async def deleted(_: str, data: bytes, progress: Progress) -> None:
        await fanout.tweet_deleted(tweet_events.TweetDeleted.FromString(data), progress)

    async def followed(_: str, data: bytes, progress: Progress) -> None:
        await fanout.follow_created(user_events.FollowCreated.FromString(data))

    async def unfollowed(_: str, data: bytes, progress: Progress) -> None:
        await fanout.follow_deleted(user_events.FollowDeleted.FromString(data))

    def spec(durable: str, subject: str, handlers: dict[str, consumer.Handler]) -> ConsumerSpec:
        return ConsumerSpec(durable, subject, handlers,
                            ack_wait_seconds=settings.fanout_ack_wait_seconds,
                            max_deliver=settings.fanout_max_deliver,
                            concurrency=settings.fanout_concurrency)

    return [
        spec("timeline-tweets", "twitter.tweet.>",
             {"twitter.tweet.created": created, "twitter.tweet.deleted": deleted}),
        spec("timeline-follows", "twitter.follow.>",
             {"twitter.follow.created": followed, "twitter.follow.deleted": unfollowed}),
    ]


async def main() -> None:
    settings = TimelineSettings(service_name="timeline-worker")
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    configure_tracing(settings.service_name)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.grpc_host)
    conn = wiring.connect(settings)
    fanout = Fanout(conn.store, conn.users, conn.tweets,
                    celebrity_threshold=settings.celebrity_threshold)
    nc, js = await jetstream.connect(settings.nats_url, name=settings.service_name)
    await jetstream.ensure_stream(js)

    log.info("fanout worker started")
    await consumer.serve_consumers(js, specs(fanout, settings))
    await nc.drain()
    await conn.close()
    log.info("fanout worker stopped")


if __name__ == "__main__":
    asyncio.run(main())
