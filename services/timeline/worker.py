"""The fanout worker process: `python -m services.timeline.worker`.

Run any number of replicas; they share two durable pull consumers (tweet
events and follow events) on the event stream."""

from __future__ import annotations

from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.shared.messaging import worker
from services.shared.messaging.consumer import ConsumerSpec, Handlers
from services.timeline import wiring
from services.timeline.fanout import Fanout
from services.timeline.settings import TimelineSettings


def specs(fanout: Fanout, settings: TimelineSettings) -> list[ConsumerSpec]:
    tweets = (Handlers()
              .on(tweet_events.TweetCreated, fanout.tweet_created, progress=True)
              .on(tweet_events.TweetDeleted, fanout.tweet_deleted, progress=True))
    follows = (Handlers()
               .on(user_events.FollowCreated, fanout.follow_created)
               .on(user_events.FollowDeleted, fanout.follow_deleted))

    def spec(durable: str, handlers: Handlers) -> ConsumerSpec:
        return ConsumerSpec(durable, handlers.filter_subject, handlers,
                            ack_wait_seconds=settings.fanout_ack_wait_seconds,
                            max_deliver=settings.fanout_max_deliver,
                            concurrency=settings.fanout_concurrency)

    return [spec("timeline-tweets", tweets), spec("timeline-follows", follows)]


async def main() -> None:
    settings = TimelineSettings(service_name="timeline-worker")

    async def build() -> worker.Worker:
        conn = wiring.connect(settings)
        return worker.Worker(specs(wiring.fanout(conn, settings), settings),
                             on_stop=[conn.close])

    await worker.run(settings, build)


if __name__ == "__main__":
    worker.serve(main)
