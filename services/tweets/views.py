"""Tweets as protos: the viewer-independent entry the tweet cache stores
(twitter/tweets/v1/cache.proto), which every reader completes with profiles
and flags (services/tweets/client/tweet_views.py), and a liker's author summary."""

from __future__ import annotations

import time
from collections.abc import Mapping

from twitter.tweets.v1 import cache_pb2, tweets_pb2

from services.shared.fields.timestamps import to_timestamp
from services.tweets.domain import Author, Kind, TweetRecord
from services.tweets.events import kind_pb
from services.tweets.media import Attachment
from services.tweets.polls.views import definition_pb

# Media download URLs live an hour (the media service's default) and the media
# client caches them up to 5 minutes: a cached view holding one is good for 30.
MEDIA_URL_SECONDS = 1800


def author_pb(author: Author) -> tweets_pb2.Author:
    return tweets_pb2.Author(user_id=author.user_id, username=author.username,
                             display_name=author.display_name,
                             profile_picture_url=author.profile_picture_url)


def _attachment_pb(media_id: int, a: Attachment | None) -> tweets_pb2.MediaAttachment:
    if a is None:  # not readable right now: the id alone
        return tweets_pb2.MediaAttachment(media_id=media_id)
    return tweets_pb2.MediaAttachment(
        media_id=media_id, media_type=a.media_type, url=a.url, width=a.width, height=a.height)


def cached_entry(record: TweetRecord, attachments: Mapping[int, Attachment]) -> \
        cache_pb2.CachedTweet:
    """What every viewer sees of the tweet, for the cache (see cache.proto)."""
    t = record
    if t.deleted:
        return cache_pb2.CachedTweet(
            tweet=tweets_pb2.Tweet(tweet_id=t.tweet_id, user_id=t.user_id), deleted=True)
    tweet = tweets_pb2.Tweet(
        tweet_id=t.tweet_id, user_id=t.user_id, author=tweets_pb2.Author(user_id=t.user_id),
        kind=kind_pb(t.kind), content=t.current.content, hashtags=t.current.hashtags,
        mentions=[tweets_pb2.Mention(user_id=m.user_id, username=m.username)
                  for m in t.current.mentions],
        urls=t.current.urls,
        media=[_attachment_pb(m, attachments.get(m)) for m in t.media_ids],
        created_at=to_timestamp(t.created_at), edited_at=to_timestamp(t.edited_at),
        like_count=t.like_count, retweet_count=t.retweet_count, reply_count=t.reply_count,
        reply_to_tweet_id=t.reply_to, place=t.place,
        # The quoted tweet is cached under its own id; readers embed it.
        quoted_tweet_id=t.quoted_tweet_id, quote_count=t.quote_count,
        poll=definition_pb(t.poll) if t.poll is not None else None,
        # The original is cached under its own id; readers put it in place.
        retweet_of=tweets_pb2.Tweet(tweet_id=t.retweet_of) if t.kind is Kind.RETWEET else None,
    )
    # A media URL that could not be resolved now is retried soon, not kept.
    complete = all(m in attachments for m in t.media_ids)
    expires = 0
    if t.media_ids:
        expires = int((time.time() + (MEDIA_URL_SECONDS if complete else 5)) * 1000)
    return cache_pb2.CachedTweet(tweet=tweet, media_expire_ms=expires)
