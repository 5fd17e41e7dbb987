"""The rate-limit rules: parsing edge/ratelimits.yaml and matching descriptors."""

from __future__ import annotations

from typing import Any

import pytest

from services.ratelimit.rules import DEFAULT_ENVIRONMENTS, ConfigError, load, parse
from services.ratelimit.server import DEFAULT_CONFIG

DOC: dict[str, Any] = {
    "domain": "edge",
    "descriptors": [
        {"key": "remote_address", "rate_limit": {"unit": "minute", "requests_per_unit": 100}},
        {"key": "op", "value": "CreateTweet", "descriptors": [
            {"key": "user_id", "rate_limit": {"unit": "minute", "requests_per_unit": 10}}]},
        {"key": "op", "descriptors": [
            {"key": "user_id", "rate_limit": {"unit": "hour", "requests_per_unit": 60}}]},
    ],
    "environments": {"production": {}, "local": {
        "exempt": [{"key": "remote_address", "value": "127.0.0.1"}],
        "overrides": {"op=CreateTweet/user_id": {"unit": "second", "requests_per_unit": 1}}}},
}


def test_value_match_wins_over_key_only() -> None:
    rules = parse(DOC, "production")
    tweet = rules.match([("op", "CreateTweet"), ("user_id", "7")])
    other = rules.match([("op", "FollowUser"), ("user_id", "7")])
    assert tweet and tweet.limit.requests_per_unit == 10 and tweet.limit.window_seconds == 60
    assert other and other.limit.requests_per_unit == 60 and other.limit.window_seconds == 3600
    assert other.limit.name == "op/user_id"


def test_buckets_are_per_value_and_bounded() -> None:
    rules = parse(DOC, "production")
    a = rules.match([("remote_address", "10.0.0.1")])
    b = rules.match([("remote_address", "10.0.0.2")])
    long = rules.match([("op", "X"), ("user_id", "x" * 10_000)])
    assert a and b and long and a.bucket != b.bucket
    assert len(long.bucket) < 64


def test_unconfigured_descriptors_are_not_limited() -> None:
    rules = parse(DOC, "production")
    assert rules.match([("op", "Login"), ("remote_address", "10.0.0.1")]) is None
    assert rules.match([("op", "CreateTweet")]) is None  # no limit on the inner node
    assert rules.match([]) is None


def test_environment_exemptions_and_overrides() -> None:
    local, production = parse(DOC, "local"), parse(DOC, "production")
    loopback = [[("remote_address", "127.0.0.1")], [("op", "CreateTweet"), ("user_id", "1")]]
    assert local.is_exempt(loopback) and not production.is_exempt(loopback)
    match = local.match([("op", "CreateTweet"), ("user_id", "1")])
    assert match and match.limit.window_seconds == 1


@pytest.mark.parametrize("broken", [
    {"descriptors": []},
    DOC | {"environments": {}},
    DOC | {"descriptors": [{"key": "a", "rate_limit": {"unit": "fortnight",
                                                       "requests_per_unit": 1}}]},
    DOC | {"descriptors": [{"key": "a", "rate_limit": {"unit": "minute",
                                                       "requests_per_unit": -1}}]},
    DOC | {"descriptors": [{"key": "a"}, {"key": "a"}]},
    DOC | {"environments": {"production": {"overrides": {"nope": {}}}}},
])
def test_malformed_files_are_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        parse(broken, "production")


@pytest.mark.parametrize("environment", DEFAULT_ENVIRONMENTS)
def test_the_checked_in_file_loads(environment: str) -> None:
    rules = load(DEFAULT_CONFIG, environment)
    tweet = rules.match([("op", "CreateTweet"), ("user_id", "1")])
    reply = rules.match([("op", "CreateReply"), ("user_id", "1")])
    account = rules.match([("op", "Login"), ("account", "alice")])
    assert tweet and tweet.limit.requests_per_unit == 10 and tweet.limit.unit == "minute"
    assert reply and reply.limit.requests_per_unit == 20
    assert account is not None
    assert rules.match([("remote_address", "203.0.113.9")]) is not None
