"""The edge's route table (edge/routes.py): one route per HTTP binding, matched
on the RPC and the client's canonical path and method; nothing else routed."""

from __future__ import annotations

import re
from typing import Any

from edge import render, routes

SERVICES = ["media", "messages", "notifications", "search", "timeline", "tweets", "users"]


def _table() -> list[dict[str, Any]]:
    config = render.render(render.options_from_env({}, port=8080, admin_port=9901))
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"]
    table: list[dict[str, Any]] = hcm["route_config"]["virtual_hosts"][0]["routes"]
    return table


def _binding(rpc_suffix: str) -> routes.Binding:
    found = routes.bindings(SERVICES, render.DESCRIPTOR)
    return next(b for b in found if b.rpc.endswith(rpc_suffix))


def test_only_the_canonical_path_matches_a_binding() -> None:
    follow = re.compile(_binding("/FollowUser").path_regex())
    assert follow.match("/v1/users/42/follow")
    for other in ("/v1/users/42/follow/", "/v1/users/42/follow//", "/v1/users/42/follow/.",
                  "/v1/users//follow", "/v1/users/42/./follow", "//v1/users/42/follow",
                  "/v1/users/4/2/follow", "/v1/users/42/follow?userId=1",
                  "/V1/users/42/follow", "/v1/users/42/followx"):
        assert not follow.match(other), other
    # a route without a body takes its fields from the query string
    followers = re.compile(_binding("/ListFollowers").path_regex())
    assert followers.match("/v1/users/42/followers?pageSize=5&pageToken=x")
    assert not followers.match("/v1/users/42/followers/?pageSize=5")
    jwks = re.compile(_binding("/GetJwks").path_regex())
    assert jwks.match("/.well-known/jwks.json")
    assert not jwks.match("/.well-known/jwksxjson")


def test_every_service_route_names_its_rpc_and_canonical_request() -> None:
    table = _table()
    to_services = [r for r in table if "route" in r]
    assert not any("prefix" in r["match"] for r in to_services)  # no catch-all to a service
    for r in to_services:
        headers = {h["name"]: h["string_match"] for h in r["match"]["headers"]}
        assert set(headers) == {routes.ORIGINAL_METHOD, routes.ORIGINAL_PATH}, r
        assert r["match"]["path"].startswith("/twitter.")
    paths = {r["match"]["path"] for r in to_services}
    assert "/twitter.tweets.v1.TweetService/CreateTweet" in paths
    # RPCs without an HTTP binding are not routed at all
    assert "/twitter.tweets.v1.TweetService/BatchGetTweets" not in paths
    assert "/twitter.users.v1.UserService/ListFollowerIds" not in paths
    assert table[-1] == {"match": {"prefix": "/"}, "direct_response": {
        "status": 404, "body": {"inline_string": "no such route"}}}


def test_writes_are_limited_and_body_routes_refuse_a_query() -> None:
    table = _table()
    for b in routes.bindings(SERVICES, render.DESCRIPTOR):
        mine = [r for r in table if r["match"].get("path") == b.rpc]
        routed = [r for r in mine if "route" in r]
        assert len(routed) == 1, b
        assert bool(routed[0]["route"].get("rate_limits")) == b.is_write, b
        refusals = [r for r in mine if "direct_response" in r]
        assert len(refusals) == (1 if b.body == "*" else 0), b
        for r in refusals:
            assert r["direct_response"]["status"] == 400
            pattern = next(h["string_match"]["safe_regex"]["regex"]
                           for h in r["match"]["headers"] if h["name"] == routes.ORIGINAL_PATH)
            assert re.match(pattern, b.template.replace("{", "").replace("}", "") + "?a=1")


def test_rpc_checks_know_every_write_and_the_reply_variant() -> None:
    found = routes.bindings(SERVICES, render.DESCRIPTOR)
    lua = routes.checks_lua(found, render.DESCRIPTOR)
    create = next(line for line in lua.splitlines()
                  if '["/twitter.tweets.v1.TweetService/CreateTweet"]' in line)
    assert 'op = "CreateTweet"' in create
    assert 'variant_op = "CreateReply"' in create
    assert "variant_field = 3" in create
    assert '["replyToTweetId"] = true' in create
    assert '["reply_to_tweet_id"] = true' in create
    delete = next(line for line in lua.splitlines() if "/DeleteTweet\"]" in line)
    assert "keys = {}" in delete  # no body: no JSON key is allowed
    assert "/GetTweet\"]" not in lua  # reads are not checked here
