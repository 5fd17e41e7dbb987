"""Cached, viewer-independent tweets turned into what one viewer sees: the
author's profile, the original of a retweet and the viewer's flags filled in.
Used by every reader of the tweet cache, so all of them render alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from twitter.tweets.v1 import cache_pb2, tweets_pb2
from twitter.users.v1 import users_pb2

from services.tweets.client.tweet_cache import Rider
from services.tweets.client.viewer_flags import Flags, ViewerFlags, union

RETWEET = tweets_pb2.TWEET_KIND_RETWEET
Entries = dict[int, cache_pb2.CachedTweet]
# A lookup through the tweet cache that can carry a rider (TweetCache.get, or the
# tweets service's read-through that also fills it).
Lookup = Callable[[Sequence[int], Rider], Awaitable[Entries]]


async def lookup_with_flags(lookup: Lookup, flags: ViewerFlags, ids: list[int],
                            viewer: int) -> tuple[Entries, Flags | None, set[int]]:
    """The entries for the ids and for the originals their retweets need, the
    viewer's flags riding along in the same round trips (one; two when retweets
    bring in originals that are not among the ids), and those originals. The
    flags are None when unknown."""
    flags_of_ids = flags.rider(viewer, ids)
    entries = await lookup(ids, flags_of_ids)
    found = flags_of_ids.flags
    originals = originals_needed(entries)
    if originals:
        flags_of_originals = flags.rider(viewer, sorted(originals))
        entries |= await lookup(sorted(originals), flags_of_originals)
        found = union(found, flags_of_originals.flags)
    return entries, found, originals


def originals_needed(entries: Mapping[int, cache_pb2.CachedTweet]) -> set[int]:
    """Ids of retweeted originals that are not among the entries yet."""
    wanted = {e.tweet.retweet_of.tweet_id for e in entries.values()
              if not e.deleted and e.tweet.kind == RETWEET}
    return wanted - entries.keys()


def flag_targets(ids: list[int], entries: Mapping[int, cache_pb2.CachedTweet]) -> list[int]:
    """The tweets whose viewer flags a page needs: for a retweet, its original."""
    targets = []
    for tweet_id in ids:
        entry = entries.get(tweet_id)
        if entry is None or entry.deleted:
            continue
        targets.append(entry.tweet.retweet_of.tweet_id if entry.tweet.kind == RETWEET
                       else tweet_id)
    return list(dict.fromkeys(targets))


def people(entries: Mapping[int, cache_pb2.CachedTweet]) -> set[int]:
    return {e.tweet.user_id for e in entries.values() if not e.deleted}


def author_pb(user: users_pb2.UserSummary) -> tweets_pb2.Author:
    return tweets_pb2.Author(user_id=user.user_id, username=user.username,
                             display_name=user.display_name,
                             profile_picture_url=user.profile_picture_url)


def render(tweet_id: int, entries: Mapping[int, cache_pb2.CachedTweet],
           authors: Mapping[int, users_pb2.UserSummary], liked: set[int],
           retweeted: set[int]) -> tweets_pb2.Tweet | None:
    """The tweet as the viewer sees it; None when it (or a retweet's original) is
    deleted or missing."""
    entry = entries.get(tweet_id)
    if entry is None or entry.deleted:
        return None
    tweet = tweets_pb2.Tweet()
    tweet.CopyFrom(entry.tweet)
    author = authors.get(tweet.user_id)
    if author is not None:
        tweet.author.CopyFrom(author_pb(author))
    else:
        tweet.ClearField("author")
    if tweet.kind == RETWEET:
        original = render(tweet.retweet_of.tweet_id, entries, authors, liked, retweeted)
        if original is None:
            return None
        tweet.retweet_of.CopyFrom(original)
    else:
        tweet.liked_by_viewer = tweet_id in liked
        tweet.retweeted_by_viewer = tweet_id in retweeted
    return tweet
