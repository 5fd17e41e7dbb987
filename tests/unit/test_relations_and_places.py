"""Plain rules of blocks, mutes and places: what a viewer's relations hide, the
cache's value format, country codes."""

from __future__ import annotations

import pytest
from twitter.tweets.v1 import tweets_pb2
from twitter.users.v1 import users_pb2

from services.shared.errors import InvalidArgument
from services.shared.fields.places import normalize_place
from services.users.client.relations import Relations, decode, encode, shows, visible


def test_blocks_hide_both_ways_and_mutes_only_from_feeds() -> None:
    r = Relations(blocked=frozenset({1}), blocked_by=frozenset({2}), muted=frozenset({3}))
    assert r.hidden == {1, 2}
    assert r.quiet == {1, 2, 3}
    assert r.is_blocked_either_way(2)
    assert not r.is_blocked_either_way(3)


def test_a_retweet_of_a_hidden_author_is_hidden_too() -> None:
    own = tweets_pb2.Tweet(tweet_id=10, user_id=1)
    retweet = tweets_pb2.Tweet(tweet_id=11, user_id=5,
                               retweet_of=tweets_pb2.Tweet(tweet_id=10, user_id=1))
    other = tweets_pb2.Tweet(tweet_id=12, user_id=5)
    assert not shows(own, frozenset({1}))
    assert not shows(retweet, frozenset({1}))
    assert visible([own, retweet, other], frozenset({1})) == [other]
    assert visible([own, retweet, other], frozenset()) == [own, retweet, other]


def test_the_cached_value_carries_its_version() -> None:
    pb = users_pb2.ViewerRelations(user_id=7, version=42, blocked_ids=[1], blocked_by_ids=[2],
                                   muted_ids=[3])
    raw = encode(pb)
    assert raw.startswith(b"42:")
    assert decode(raw) == Relations(frozenset({1}), frozenset({2}), frozenset({3}))


@pytest.mark.parametrize(("raw", "code"), [("fr", "FR"), (" IS ", "IS"), ("", "")])
def test_places_are_upper_case_country_codes(raw: str, code: str) -> None:
    assert normalize_place(raw) == code


@pytest.mark.parametrize("raw", ["XX", "FRA", "F", "1", "é", "EU"])
def test_other_places_are_refused(raw: str) -> None:
    with pytest.raises(InvalidArgument):
        normalize_place(raw)
