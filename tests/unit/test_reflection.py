"""services/shared/rpc/reflection.py: the pool reflection reads resolves method
symbols (what `grpcurl describe pkg.Service.Method` asks for)."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pool
from twitter.tweets.v1 import tweets_pb2

from services.shared.rpc.reflection import MethodResolvingPool

TWEETS = tweets_pb2.DESCRIPTOR.name


def test_the_default_pool_alone_cannot_find_a_method() -> None:
    # Why the wrapper exists; if protobuf learns this, the wrapper can go.
    with pytest.raises(KeyError):
        descriptor_pool.Default().FindFileContainingSymbol(
            "twitter.tweets.v1.TweetService.GetTweet")


def test_methods_services_and_messages_resolve_to_their_file() -> None:
    pool = MethodResolvingPool(descriptor_pool.Default())
    for symbol in ("twitter.tweets.v1.TweetService.GetTweet",
                   "twitter.tweets.v1.TweetService", "twitter.tweets.v1.Tweet"):
        assert pool.FindFileContainingSymbol(symbol).name == TWEETS


@pytest.mark.parametrize("symbol", ["twitter.tweets.v1.TweetService.NoSuchMethod",
                                    "twitter.tweets.v1.NoSuchService.GetTweet", "nothing"])
def test_unknown_symbols_are_still_not_found(symbol: str) -> None:
    with pytest.raises(KeyError):
        MethodResolvingPool(descriptor_pool.Default()).FindFileContainingSymbol(symbol)


def test_other_lookups_go_to_the_wrapped_pool() -> None:
    pool = MethodResolvingPool(descriptor_pool.Default())
    assert pool.FindFileByName(TWEETS).name == TWEETS
