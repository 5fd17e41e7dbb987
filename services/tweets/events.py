"""Events the tweets service publishes (through the outbox in outbox.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import cast

from google.protobuf.message import Message
from twitter.tweets.v1 import events_pb2, tweets_pb2

from services.shared import contracts
from services.shared.fields.timestamps import to_timestamp
from services.shared.messaging.events import Event, make_event, new_event_id, timestamp_now
from services.tweets.domain import Kind, Revision, TweetRecord

Publish = Callable[[Event], Awaitable[None]]

# Stored events are rebuilt by subject (outbox.py).
MESSAGES: dict[str, type[Message]] = contracts.by_subject(events_pb2)


def kind_pb(kind: Kind) -> tweets_pb2.TweetKind:
    """Our Kind has the proto's numbers; the stubs type enum fields nominally."""
    return cast(tweets_pb2.TweetKind, int(kind))


def decode(subject: str, payload: bytes, trace_headers: dict[str, str]) -> Event:
    """Rebuilds a stored event (its id is inside the payload, so it never changes)."""
    message = MESSAGES[subject].FromString(payload)
    return replace(make_event(message), trace_headers=trace_headers)


def created(tweet: TweetRecord, *, quoted_author: int = 0) -> Event:
    return make_event(events_pb2.TweetCreated(
        event_id=new_event_id(), occurred_at=timestamp_now(), tweet_id=tweet.tweet_id,
        author_user_id=tweet.user_id, kind=kind_pb(tweet.kind), content=tweet.current.content,
        hashtags=tweet.current.hashtags, mention_user_ids=tweet.mention_ids,
        reply_to_tweet_id=tweet.reply_to, retweet_of_tweet_id=tweet.retweet_of,
        media_ids=tweet.media_ids, created_at=to_timestamp(tweet.created_at),
        place=tweet.place, quoted_tweet_id=tweet.quoted_tweet_id,
        quoted_author_user_id=quoted_author,
    ))


def retweet_created(retweet_id: int, user_id: int, original_id: int,
                    created_at: datetime, *, event_id: str = "") -> Event:
    return make_event(events_pb2.TweetCreated(
        event_id=event_id or new_event_id(), occurred_at=timestamp_now(), tweet_id=retweet_id,
        author_user_id=user_id, kind=kind_pb(Kind.RETWEET), retweet_of_tweet_id=original_id,
        created_at=to_timestamp(created_at),
    ))


def edited(tweet: TweetRecord, new: Revision, edited_at: datetime) -> Event:
    return make_event(events_pb2.TweetEdited(
        event_id=new_event_id(), occurred_at=timestamp_now(), tweet_id=tweet.tweet_id,
        author_user_id=tweet.user_id, revision=new.revision, content=new.content,
        hashtags=new.hashtags, mention_user_ids=[m.user_id for m in new.mentions],
        previous_hashtags=tweet.current.hashtags,
        previous_mention_user_ids=tweet.mention_ids, edited_at=to_timestamp(edited_at),
    ))


def deleted(tweet: TweetRecord) -> Event:
    return make_event(events_pb2.TweetDeleted(
        event_id=new_event_id(), occurred_at=timestamp_now(), tweet_id=tweet.tweet_id,
        author_user_id=tweet.user_id, kind=kind_pb(tweet.kind), hashtags=tweet.current.hashtags,
        mention_user_ids=tweet.mention_ids, reply_to_tweet_id=tweet.reply_to,
        retweet_of_tweet_id=tweet.retweet_of, created_at=to_timestamp(tweet.created_at),
    ))


def retweet_deleted(retweet_id: int, user_id: int, original_id: int,
                    created_at: datetime, *, event_id: str = "") -> Event:
    return make_event(events_pb2.TweetDeleted(
        event_id=event_id or new_event_id(), occurred_at=timestamp_now(), tweet_id=retweet_id,
        author_user_id=user_id, kind=kind_pb(Kind.RETWEET), retweet_of_tweet_id=original_id,
        created_at=to_timestamp(created_at),
    ))


def like_changed(tweet_id: int, author_id: int, user_id: int, like_count: int, *,
                 liked: bool, event_id: str = "") -> Event:
    message = events_pb2.TweetLiked if liked else events_pb2.TweetUnliked
    return make_event(message(
        event_id=event_id or new_event_id(), occurred_at=timestamp_now(), tweet_id=tweet_id,
        author_user_id=author_id, user_id=user_id, like_count=like_count,
    ))


def retweet_changed(tweet_id: int, author_id: int, user_id: int, retweet_id: int,
                    retweet_count: int, *, retweeted: bool, event_id: str = "") -> Event:
    message = events_pb2.TweetRetweeted if retweeted else events_pb2.TweetUnretweeted
    return make_event(message(
        event_id=event_id or new_event_id(), occurred_at=timestamp_now(), tweet_id=tweet_id,
        author_user_id=author_id, user_id=user_id, retweet_tweet_id=retweet_id,
        retweet_count=retweet_count,
    ))
