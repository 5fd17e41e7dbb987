"""The rate-limit rules: parsing edge/ratelimits.yaml, matching descriptors, and
the edge's share of them (edge/limits.py)."""

from __future__ import annotations

from typing import Any

import pytest

from edge import limits, render
from services.ratelimit.rules import DEFAULT_ENVIRONMENTS, ConfigError, Limit, load, parse
from services.ratelimit.settings import DEFAULT_CONFIG

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
    assert tweet
    assert tweet.limit.requests_per_unit == 10
    assert tweet.limit.window_seconds == 60
    assert other
    assert other.limit.requests_per_unit == 60
    assert other.limit.window_seconds == 3600
    assert other.limit.name == "op/user_id"


def test_buckets_are_per_value_and_bounded() -> None:
    rules = parse(DOC, "production")
    a = rules.match([("remote_address", "10.0.0.1")])
    b = rules.match([("remote_address", "10.0.0.2")])
    long = rules.match([("op", "X"), ("user_id", "x" * 10_000)])
    assert a
    assert b
    assert long
    assert a.bucket != b.bucket
    assert len(long.bucket) < 64


def test_unconfigured_descriptors_are_not_limited() -> None:
    rules = parse(DOC, "production")
    assert rules.match([("op", "Login"), ("remote_address", "10.0.0.1")]) is None
    assert rules.match([("op", "CreateTweet")]) is None  # no limit on the inner node
    assert rules.match([]) is None


def test_environment_exemptions_and_overrides() -> None:
    local, production = parse(DOC, "local"), parse(DOC, "production")
    loopback = [[("remote_address", "127.0.0.1")], [("op", "CreateTweet"), ("user_id", "1")]]
    assert local.is_exempt(loopback)
    assert not production.is_exempt(loopback)
    match = local.match([("op", "CreateTweet"), ("user_id", "1")])
    assert match
    assert match.limit.window_seconds == 1


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
    login = rules.match([("op", "Login"), ("remote_address", "203.0.113.9")])
    assert tweet
    assert tweet.limit.requests_per_unit == 10
    assert tweet.limit.unit == "minute"
    assert reply
    assert reply.limit.requests_per_unit == 20
    assert login
    assert login.limit.requests_per_unit == 30
    assert rules.match([("remote_address", "203.0.113.9")]) is not None


# --- the edge's share: reads per address inside Envoy, writes to the service ---


def test_local_token_buckets_refill_evenly() -> None:
    per_minute = Limit(300, "minute", "remote_address")
    assert limits.token_bucket(per_minute) == {
        "max_tokens": 300, "tokens_per_fill": 1, "fill_interval": "0.200s"}
    assert limits.token_bucket(Limit(1200, "minute", "x"))["fill_interval"] == "0.050s"
    # Envoy refills at most every 50 ms: more tokens per fill instead
    assert limits.token_bucket(Limit(100, "second", "x")) == {
        "max_tokens": 100, "tokens_per_fill": 5, "fill_interval": "0.050s"}
    assert limits.retry_after(per_minute) == 1
    assert limits.retry_after(Limit(10, "hour", "x")) == 360


def test_the_edge_reads_its_limits_from_the_same_file() -> None:
    local = limits.per_address(limits.rules({}))
    assert (local[0].requests_per_unit, local[1]) == (300, ["127.0.0.1"])
    production = limits.per_address(limits.rules({"RATELIMIT_ENVIRONMENT": "production"}))
    assert (production[0].requests_per_unit, production[1]) == (1200, [])


def test_only_write_routes_ask_the_global_service() -> None:
    config = render.render(render.options_from_env({}, port=8080, admin_port=9901))
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    limited = {r["match"].get("path") for r in routes if r.get("route", {}).get("rate_limits")}
    assert "/twitter.tweets.v1.TweetService/CreateTweet" in limited
    assert "/twitter.users.v1.AuthService/Login" in limited
    assert not any("/Get" in p or "/List" in p for p in limited if p)
    assert "rate_limits" not in hcm["route_config"]["virtual_hosts"][0]
