"""Quote tweets as readers render them (services/tweets/client/tweet_views.py)
and mask them (services/users/client/relations.py): one level of embedding,
"unavailable" for a deleted, missing or hidden quoted tweet, never an error."""

from __future__ import annotations

from twitter.tweets.v1 import cache_pb2, tweets_pb2

from services.notifications.domain import Kind, recipients_of_tweet
from services.tweets.client.tweet_views import originals_needed, render
from services.users.client.relations import masked, visible

RETWEET = tweets_pb2.TWEET_KIND_RETWEET


def entry(tweet_id: int, user_id: int, *, quoted: int = 0, retweet_of: int = 0,
          deleted: bool = False) -> cache_pb2.CachedTweet:
    tweet = tweets_pb2.Tweet(tweet_id=tweet_id, user_id=user_id, content=f"t{tweet_id}",
                             quoted_tweet_id=quoted,
                             kind=RETWEET if retweet_of else tweets_pb2.TWEET_KIND_ORIGINAL)
    if retweet_of:
        tweet.retweet_of.tweet_id = retweet_of
    return cache_pb2.CachedTweet(tweet=tweet, deleted=deleted)


def test_a_quote_embeds_one_level_and_needs_what_it_quotes() -> None:
    entries = {3: entry(3, 30, quoted=2), 2: entry(2, 20, quoted=1)}
    assert originals_needed(entries) == {1}
    shown = render(3, entries, {}, {3, 2}, set())
    assert shown is not None
    assert shown.quoted_tweet.tweet_id == 2
    assert shown.quoted_tweet.quoted_tweet_id == 1
    assert not shown.quoted_tweet.HasField("quoted_tweet")
    assert not shown.quoted_tweet.liked_by_viewer  # the embed carries no viewer flags
    assert shown.liked_by_viewer


def test_a_deleted_or_missing_quoted_tweet_is_unavailable_and_the_quote_shows() -> None:
    for entries in ({3: entry(3, 30, quoted=2), 2: entry(2, 20, deleted=True)},
                    {3: entry(3, 30, quoted=2)}):
        shown = render(3, entries, {}, set(), set())
        assert shown is not None
        assert shown.quoted_tweet_unavailable
        assert not shown.HasField("quoted_tweet")
        assert shown.quoted_tweet_id == 2


def test_a_retweet_of_a_quote_carries_the_embed_in_its_original() -> None:
    entries = {4: entry(4, 40, retweet_of=3), 3: entry(3, 30, quoted=2), 2: entry(2, 20)}
    shown = render(4, entries, {}, set(), set())
    assert shown is not None
    assert shown.retweet_of.quoted_tweet.tweet_id == 2


def test_a_hidden_quoted_author_masks_the_embed_but_not_the_quote() -> None:
    entries = {4: entry(4, 40, retweet_of=3), 3: entry(3, 30, quoted=2), 2: entry(2, 20)}
    quote, retweet = render(3, entries, {}, set(), set()), render(4, entries, {}, set(), set())
    assert quote is not None
    assert retweet is not None
    assert [t.tweet_id for t in visible([quote, retweet], frozenset({20}))] == [3, 4]
    assert quote.quoted_tweet_unavailable
    assert not quote.HasField("quoted_tweet")
    assert retweet.retweet_of.quoted_tweet_unavailable
    untouched = render(3, entries, {}, set(), set())
    assert untouched is not None
    assert masked(untouched, frozenset({99})).quoted_tweet.tweet_id == 2


def test_the_quoted_author_is_notified_unless_replied_to_or_the_author() -> None:
    assert recipients_of_tweet(1, [3], None, quoted_author_id=2) == {3: Kind.MENTION,
                                                                      2: Kind.QUOTE}
    assert recipients_of_tweet(1, [], 2, quoted_author_id=2) == {2: Kind.REPLY}
    assert recipients_of_tweet(1, [], None, quoted_author_id=1) == {}
