"""The tweets service over gRPC for integration tests: posting and reading
as an account, and a publisher that fails on demand (NATS down)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nats.js import JetStreamContext
from twitter.tweets.v1 import tweets_pb2, tweets_pb2_grpc

from services.shared.messaging import events as jetstream
from services.shared.messaging.events import Event
from tests.support.users import Account

if TYPE_CHECKING:
    Stub = tweets_pb2_grpc.TweetServiceAsyncStub


class FlakyPublisher:
    """Publishes to JetStream unless told to fail (NATS down, process dying)."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.failing = False
        self.published: list[Event] = []

    async def __call__(self, event: Event) -> None:
        if self.failing:
            raise ConnectionError("NATS is down")
        await jetstream.publish(self.js, event)
        self.published.append(event)


async def post(tweets: Stub, who: Account, content: str = "hello", reply_to: int = 0
               ) -> tweets_pb2.Tweet:
    response = await tweets.CreateTweet(tweets_pb2.CreateTweetRequest(
        content=content, reply_to_tweet_id=reply_to), metadata=who.metadata)
    return response.tweet


async def get(tweets: Stub, who: Account, tweet_id: int) -> tweets_pb2.Tweet:
    return (await tweets.GetTweet(tweets_pb2.GetTweetRequest(tweet_id=tweet_id),
                                  metadata=who.metadata)).tweet
