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
from services.shared.contracts import subject
from services.shared.messaging.consumer import Handler, Progress
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

    def handlers(self) -> dict[str, Handler]:
        """Subject (from the contracts) to handler."""
        return {subject(event): handler for event, handler in (
            (tweet_events.TweetCreated, self._created),
            (tweet_events.TweetEdited, self._edited),
            (tweet_events.TweetDeleted, self._deleted),
            (tweet_events.TweetLiked, self._liked),
            (tweet_events.TweetUnliked, self._liked),
            (tweet_events.TweetRetweeted, self._retweeted),
            (tweet_events.TweetUnretweeted, self._retweeted),
            (user_events.UserCreated, self._user),
            (user_events.UserUpdated, self._user),
            (user_events.FollowCreated, self._follow),
            (user_events.FollowDeleted, self._follow),
        )}

    async def _created(self, _: str, data: bytes, progress: Progress) -> None:
        event = tweet_events.TweetCreated.FromString(data)
        if event.kind == tweets_pb2.TWEET_KIND_RETWEET:
            return  # a retweet is the original tweet again: nothing new to find
        created = id_time(event.tweet_id)
        await self._tweets.add(event.tweet_id, TweetDoc(
            event.tweet_id, event.author_user_id, event.content,
            [h.lower() for h in event.hashtags], list(event.mention_user_ids), created))
        if event.hashtags:
            await self._trends.record(list(event.hashtags), event.author_user_id,
                                      created.timestamp(), place=event.place)

    async def _edited(self, _: str, data: bytes, progress: Progress) -> None:
        event = tweet_events.TweetEdited.FromString(data)
        await self._tweets.add(event.tweet_id, TweetDoc(
            event.tweet_id, event.author_user_id, event.content,
            [h.lower() for h in event.hashtags], list(event.mention_user_ids),
            id_time(event.tweet_id), revision=event.revision))

    async def _deleted(self, _: str, data: bytes, progress: Progress) -> None:
        event = tweet_events.TweetDeleted.FromString(data)
        await self._deletes.add(event.tweet_id, True)

    async def _liked(self, _: str, data: bytes, progress: Progress) -> None:
        event = tweet_events.TweetLiked.FromString(data)  # TweetUnliked has the same shape
        await self._engagement.add(event.tweet_id, _Counted(
            event.occurred_at.ToNanoseconds() / 1e9, Engagement(like_count=event.like_count)))

    async def _retweeted(self, _: str, data: bytes, progress: Progress) -> None:
        event = tweet_events.TweetRetweeted.FromString(data)  # same shape as TweetUnretweeted
        await self._engagement.add(event.tweet_id, _Counted(
            event.occurred_at.ToNanoseconds() / 1e9,
            Engagement(retweet_count=event.retweet_count)))

    async def _user(self, _: str, data: bytes, progress: Progress) -> None:
        event = user_events.UserUpdated.FromString(data)  # a prefix of UserCreated
        await self._users.add(event.user_id, UserDoc(
            event.user_id, event.username, event.display_name, event.bio,
            event.profile_picture_url))

    async def _follow(self, _: str, data: bytes, progress: Progress) -> None:
        event = user_events.FollowCreated.FromString(data)  # same shape as FollowDeleted
        await self._followers.add(event.followee_id, (
            event.occurred_at.ToNanoseconds() / 1e9, event.followee_follower_count))
