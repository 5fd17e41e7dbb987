"""Cached, viewer-independent tweets turned into what one viewer sees: the
author's profile, the original of a retweet, the tweet a quote embeds and the
viewer's flags filled in. Used by every reader of the tweet cache, so all of
them render alike. Which embedded tweets a viewer may not see (blocks, mutes)
is the reader's to mask (services/users/client/relations.py, `masked`)."""

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
# The cache's in-process copies among some ids (TweetCache.peek).
Peek = Callable[[Sequence[int]], Entries]


async def lookup_with_flags(lookup: Lookup, flags: ViewerFlags, ids: list[int],
                            viewer: int, peek: Peek | None = None
                            ) -> tuple[Entries, Flags | None, set[int]]:
    """The entries for the ids and for the tweets they embed (retweeted
    originals, quoted tweets), the viewer's flags riding along in the same
    round trips (one; two when embedded tweets are not among the ids; three
    when a retweeted original quotes one that is not either), and the ids of
    those embedded tweets. The flags are None when unknown. With `peek` (the
    cache's in-process copies), what hot tweets embed goes in the first round
    trip: a page of hot retweets costs one, not two."""
    ahead = expected_embeds(peek, ids) if peek is not None else []
    first = ids + ahead
    flags_of_first = flags.rider(viewer, first)
    entries = await lookup(first, flags_of_first)
    found = flags_of_first.flags
    embedded: set[int] = set(ahead)
    for _ in range(2):  # what the ids embed, then what retweeted originals quote
        wanted = originals_needed(entries) - embedded
        if not wanted:
            break
        embedded |= wanted
        flags_of_embedded = flags.rider(viewer, sorted(wanted))
        entries |= await lookup(sorted(wanted), flags_of_embedded)
        found = union(found, flags_of_embedded.flags)
    return entries, found, embedded


def expected_embeds(peek: Peek, ids: list[int]) -> list[int]:
    """What the hot copies of these tweets embed, and what those embed in turn
    (a retweeted original's quoted tweet), that is not among the ids: a guess
    (embeds never change, but a copy may be of a since deleted tweet) that
    costs at worst a few ids more in the first lookup."""
    seen = set(ids)
    ahead: list[int] = []
    level = ids
    for _ in range(2):
        level = [t for t in dict.fromkeys(embeds(e) for e in peek(level).values())
                 if t and t not in seen]
        if not level:
            break
        seen.update(level)
        ahead += level
    return ahead


def embeds(entry: cache_pb2.CachedTweet) -> int:
    """The tweet an entry embeds: a retweet's original, a quote's quoted tweet; 0."""
    if entry.deleted:
        return 0
    if entry.tweet.kind == RETWEET:
        return entry.tweet.retweet_of.tweet_id
    return entry.tweet.quoted_tweet_id


def originals_needed(entries: Mapping[int, cache_pb2.CachedTweet]) -> set[int]:
    """Ids of retweeted originals and quoted tweets that are not among the
    entries yet."""
    wanted = {embeds(e) for e in entries.values()} - {0}
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


def fill_author(author: tweets_pb2.Author, user: users_pb2.UserSummary) -> None:
    """Sets the fields in place: a page renders this per tweet, and building an
    Author to copy in cost a third of rendering."""
    author.user_id = user.user_id
    author.username = user.username
    author.display_name = user.display_name
    author.profile_picture_url = user.profile_picture_url


def render(tweet_id: int, entries: Mapping[int, cache_pb2.CachedTweet],
           authors: Mapping[int, users_pb2.UserSummary], liked: set[int],
           retweeted: set[int], *, embed: bool = True) -> tweets_pb2.Tweet | None:
    """The tweet as the viewer sees it; None when it (or a retweet's original) is
    deleted or missing. A quoted tweet is embedded one level deep, without
    viewer flags (`embed` False renders the embedded one); when it is deleted
    or missing the quote says so (quoted_tweet_unavailable) and still shows."""
    entry = entries.get(tweet_id)
    if entry is None or entry.deleted:
        return None
    tweet = tweets_pb2.Tweet()
    tweet.CopyFrom(entry.tweet)
    author = authors.get(tweet.user_id)
    if author is not None:
        fill_author(tweet.author, author)
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
        if embed and tweet.quoted_tweet_id:
            quoted = render(tweet.quoted_tweet_id, entries, authors, set(), set(), embed=False)
            if quoted is None:
                tweet.quoted_tweet_unavailable = True
            else:
                tweet.quoted_tweet.CopyFrom(quoted)
    return tweet
