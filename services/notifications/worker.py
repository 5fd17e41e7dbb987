"""The notifications worker process: `python -m services.notifications.worker`.

Replicas share one durable pull consumer over the follow, list-member and
tweet events; a new deployment starts with the events published from then on
(notifying people of last week's likes would be noise)."""

from __future__ import annotations

from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events

from services.notifications import wiring
from services.notifications.notifier import Notifier
from services.notifications.settings import NotificationsSettings
from services.shared.messaging import events as jetstream
from services.shared.messaging import worker
from services.shared.messaging.consumer import ConsumerSpec, Handlers

DURABLE = "notifications"


def handlers(notifier: Notifier) -> Handlers:
    return (Handlers()
            .on(user_events.FollowCreated, notifier.followed)
            .on(user_events.FollowDeleted, notifier.unfollowed)
            .on(user_events.ListMemberAdded, notifier.list_member_added)
            .on(tweet_events.TweetCreated, notifier.tweet_created)
            .on(tweet_events.TweetEdited, notifier.tweet_edited)
            .on(tweet_events.TweetDeleted, notifier.tweet_deleted)
            .on(tweet_events.TweetLiked, notifier.liked)
            .on(tweet_events.TweetUnliked, notifier.unliked)
            .on(tweet_events.TweetRetweeted, notifier.retweeted)
            .on(tweet_events.TweetUnretweeted, notifier.unretweeted)
            .on(tweet_events.PollEnded, notifier.poll_ended))


async def main() -> None:
    settings = NotificationsSettings(service_name="notifications-worker")

    async def build() -> worker.Worker:
        conn = await wiring.connect(settings)
        # A connection of its own for live hints (the runner's is for the stream).
        nc, _ = await jetstream.connect(settings.nats_url, name=settings.service_name)
        parts = await wiring.notifier(conn, settings, nc)
        on = handlers(parts.notifier)
        spec = ConsumerSpec(DURABLE, on.filter_subject, on,
                            ack_wait_seconds=settings.notify_ack_wait_seconds,
                            max_deliver=settings.notify_max_deliver,
                            concurrency=settings.notify_concurrency)

        async def stop() -> None:
            await nc.drain()
            await parts.close()
            await conn.close()

        return worker.Worker([spec], on_stop=[stop])

    await worker.run(settings, build)


if __name__ == "__main__":
    worker.serve(main)
