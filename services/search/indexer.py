"""Keeps the search index and trends current from JetStream events.

Every handler is idempotent and waits for its (batched) write before it
returns, so the event is acknowledged only once indexed: a crash or restart
redelivers, never loses. Likes and retweets carry absolute counts, so they
are coalesced per tweet (latest wins) into one write per batch rather than
one per like.
"""

from __future__ import annotations

from dataclasses import dataclass

from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import events_pb2 as user_events

from services.search.backend import Engagement, SearchBackend, TweetDoc, UserDoc
from services.search.batching import Batcher
from services.search.trends import Trends
from services.shared.messaging.consumer import Handlers
from services.shared.snowflake.ids import id_time


@dataclass(frozen=True)
class _Counted:
    """A count observed at a moment: the newest observation wins."""

    at: float
    engagement: Engagement


def _newer(old: _Counted, new: _Counted) -> _Counted:
    latest, other = (new, old) if new.at >= old.at else (old, new)
    return _Counted(latest.at, Engagement(
        like_count=latest.engagement.like_count if latest.engagement.like_count is not None
        else other.engagement.like_count,
        retweet_count=latest.engagement.retweet_count
        if latest.engagement.retweet_count is not None else other.engagement.retweet_count))


def _latest_count(old: tuple[float, int], new: tuple[float, int]) -> tuple[float, int]:
    return new if new[0] >= old[0] else old


class Indexer:
    def __init__(self, backend: SearchBackend, trends: Trends, *, max_delay: float = 0.2) -> None:
        self._trends = trends

        async def write_tweets(batch: dict[int, TweetDoc]) -> None:
            await backend.upsert_tweets(list(batch.values()))

        async def write_engagement(batch: dict[int, _Counted]) -> None:
            await backend.set_engagement({k: v.engagement for k, v in batch.items()})

        async def write_deletes(batch: dict[int, bool]) -> None:
            await backend.delete_tweets(list(batch))

        async def write_users(batch: dict[int, UserDoc]) -> None:
            await backend.upsert_users(list(batch.values()))

        async def write_followers(batch: dict[int, tuple[float, int]]) -> None:
            await backend.set_follower_counts({k: v[1] for k, v in batch.items()})

        def newest_revision(old: TweetDoc, new: TweetDoc) -> TweetDoc:
            return new if new.revision >= old.revision else old

        # At most what the backend takes in one write (Meilisearch: thousands).
        size = backend.batch_size
        self._tweets: Batcher[int, TweetDoc] = Batcher(
            write_tweets, max_delay=max_delay, max_items=size, merge=newest_revision)
        self._engagement: Batcher[int, _Counted] = Batcher(
            write_engagement, max_delay=max_delay, max_items=size, merge=_newer)
        # Deletes too: one write (one Meilisearch task) per batch, not per event.
        self._deletes: Batcher[int, bool] = Batcher(write_deletes, max_delay=max_delay,
                                                    max_items=size)
        self._users: Batcher[int, UserDoc] = Batcher(write_users, max_delay=max_delay)
        self._followers: Batcher[int, tuple[float, int]] = Batcher(
            write_followers, max_delay=max_delay, merge=_latest_count)

    def register(self, on: Handlers) -> Handlers:
        """Adds the events the index follows to a consumer's handlers."""
        return (on
                .on(tweet_events.TweetCreated, self.created)
                .on(tweet_events.TweetEdited, self.edited)
                .on(tweet_events.TweetDeleted, self.deleted)
                .on(tweet_events.TweetLiked, self.liked)
                .on(tweet_events.TweetUnliked, self.liked)
                .on(tweet_events.TweetRetweeted, self.retweeted)
                .on(tweet_events.TweetUnretweeted, self.retweeted)
                .on(user_events.UserCreated, self.user)
                .on(user_events.UserUpdated, self.user)
                .on(user_events.FollowCreated, self.follow)
                .on(user_events.FollowDeleted, self.follow))

    async def created(self, event: tweet_events.TweetCreated) -> None:
        if event.kind == tweets_pb2.TWEET_KIND_RETWEET:
            return  # a retweet is the original tweet again: nothing new to find
        created = id_time(event.tweet_id)
        await self._tweets.add(event.tweet_id, TweetDoc(
            event.tweet_id, event.author_user_id, event.content,
            [h.lower() for h in event.hashtags], list(event.mention_user_ids), created))
        if event.hashtags:
            await self._trends.record(list(event.hashtags), event.author_user_id,
                                      created.timestamp(), place=event.place)

    async def edited(self, event: tweet_events.TweetEdited) -> None:
        await self._tweets.add(event.tweet_id, TweetDoc(
            event.tweet_id, event.author_user_id, event.content,
            [h.lower() for h in event.hashtags], list(event.mention_user_ids),
            id_time(event.tweet_id), revision=event.revision))

    async def deleted(self, event: tweet_events.TweetDeleted) -> None:
        await self._deletes.add(event.tweet_id, True)

    async def liked(self, event: tweet_events.TweetLiked | tweet_events.TweetUnliked) -> None:
        await self._engagement.add(event.tweet_id, _Counted(
            event.occurred_at.ToNanoseconds() / 1e9, Engagement(like_count=event.like_count)))

    async def retweeted(self, event: tweet_events.TweetRetweeted
                        | tweet_events.TweetUnretweeted) -> None:
        await self._engagement.add(event.tweet_id, _Counted(
            event.occurred_at.ToNanoseconds() / 1e9,
            Engagement(retweet_count=event.retweet_count)))

    async def user(self, event: user_events.UserCreated | user_events.UserUpdated) -> None:
        await self._users.add(event.user_id, UserDoc(
            event.user_id, event.username, event.display_name, event.bio,
            event.profile_picture_url))

    async def follow(self, event: user_events.FollowCreated | user_events.FollowDeleted) -> None:
        await self._followers.add(event.followee_id, (
            event.occurred_at.ToNanoseconds() / 1e9, event.followee_follower_count))
