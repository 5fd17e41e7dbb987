"""The rendered Envoy configuration (edge/render.py with edge/routes.py): a
route for every operation of the OpenAPI document and nothing else, retries
and global rate limits by kind of RPC, public routes exactly the public RPCs', the
filters in the order their comments promise, and the environment's knobs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from edge import render, routes
from services.shared.security.auth import CLIENT_ADDRESS_HEADER, EDGE_TOKEN_HEADER, edge_token

Route = dict[str, Any]
# What a client reaches without a token (DESIGN): sign-up, the session calls,
# the keys to verify tokens with, health and the API's description.
PUBLIC_PATHS = {"/v1/users", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout",
                "/.well-known/jwks.json", "/healthz", "/openapi.json"}


@pytest.fixture
def config() -> dict[str, Any]:
    # The options alone decide: no process environment is read.
    return render.render(render.options_from_env({}, port=18080, admin_port=19901))


def hcm(config: dict[str, Any]) -> dict[str, Any]:
    listener = config["static_resources"]["listeners"][0]
    typed: dict[str, Any] = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return typed


def route_table(config: dict[str, Any]) -> list[Route]:
    table: list[Route] = hcm(config)["route_config"]["virtual_hosts"][0]["routes"]
    return table


def service_routes(config: dict[str, Any]) -> list[Route]:
    return [r for r in route_table(config) if "route" in r]


def header(route: Route, name: str) -> dict[str, Any]:
    matcher: dict[str, Any] = next(h["string_match"] for h in route["match"].get("headers", [])
                                   if h["name"] == name)
    return matcher


def routed(config: dict[str, Any], method: str, path: str) -> list[Route]:
    """The routes (to a service, or the 400 for a query on a body route) that
    a client request of `method` and exactly `path` matches, as Envoy matches
    them after the transcoder kept the original method and path."""
    return [r for r in route_table(config) if r["match"].get("headers")
            and r["match"]["path"].startswith("/twitter.")
            and header(r, routes.ORIGINAL_METHOD) == {"exact": method}
            and re.match(header(r, routes.ORIGINAL_PATH)["safe_regex"]["regex"], path)]


def openapi_operations() -> Iterator[tuple[str, str]]:
    """Every operation of the published API, its variables filled in."""
    document = json.loads(render.OPENAPI.read_text())
    for template, operations in document["paths"].items():
        path = re.sub(r"\{[^}]+\}", "123", template)
        for method in operations:
            yield method.upper(), path


def test_every_operation_of_the_api_has_exactly_one_route(config: dict[str, Any]) -> None:
    operations = list(openapi_operations())
    assert len(operations) > 30  # the document was read
    for method, path in operations:
        found = routed(config, method, path)
        assert len(found) == 1, (method, path, found)
        assert found[0]["match"]["path"].startswith("/twitter.")
    # ...and no route the API does not document.
    assert len(service_routes(config)) == len(operations)


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1/tweets/"), ("POST", "/v1/tweets//"), ("POST", "/v1/tweets/."),
    ("POST", "//v1/tweets"), ("POST", "/v1/./tweets"), ("POST", "/V1/tweets"),
    ("GET", "/v1/users/1/"), ("GET", "/v1/users/1/2"), ("GET", "/v1/users//followers"),
    ("DELETE", "/v1/users/1/follow/2/"), ("PUT", "/v1/users/1"), ("GET", "/v1/tweets"),
    ("POST", "/twitter.tweets.v1.TweetService/CreateTweet"),
])
def test_no_route_for_another_spelling_of_a_path(config: dict[str, Any], method: str,
                                                 path: str) -> None:
    assert routed(config, method, path) == []


def test_a_query_on_a_body_route_is_its_own_400(config: dict[str, Any]) -> None:
    [refusal] = routed(config, "POST", "/v1/tweets?content=x")
    assert refusal["direct_response"]["status"] == 400
    assert refusal["direct_response"]["body"]["inline_string"] == routes.QUERY_ON_BODY_ROUTE
    [read] = routed(config, "GET", "/v1/users/1/followers?pageSize=2")
    assert read["route"]["cluster"] == "users"


def test_the_404_fallback_is_last_and_the_only_prefix_route(config: dict[str, Any]) -> None:
    table = route_table(config)
    assert table[-1] == {"match": {"prefix": "/"}, "direct_response": {
        "status": 404, "body": {"inline_string": "no such route"}}}
    assert [r for r in table if "prefix" in r["match"]] == [table[-1]]


def test_writes_are_limited_and_retried_only_where_safe(config: dict[str, Any]) -> None:
    streams = render.streaming_methods()
    kinds = {"write": 0, "read": 0, "stream": 0}
    for r in service_routes(config):
        action = r["route"]
        verb = header(r, routes.ORIGINAL_METHOD)["exact"]
        if r["match"]["path"] in streams:
            kinds["stream"] += 1
            assert action["timeout"] == "0s"
            assert "retry_policy" not in action
            assert "rate_limits" not in action
        elif verb == "GET":
            kinds["read"] += 1
            assert action["retry_policy"] == render.READ_RETRY
            assert "rate_limits" not in action  # reads meet Envoy's local bucket instead
        else:
            kinds["write"] += 1
            assert action["retry_policy"] == render.WRITE_RETRY
            assert action["rate_limits"] == [{"actions": a} for a in render.RATE_LIMIT_ACTIONS]
    assert all(kinds.values()), kinds
    # A write is never retried once it may have reached the service.
    assert "reset" not in str(render.WRITE_RETRY["retry_on"])
    assert "reset" in str(render.READ_RETRY["retry_on"])


def test_public_routes_are_the_public_rpcs_and_the_edges_own(config: dict[str, Any]) -> None:
    filters = hcm(config)["http_filters"]
    jwt = next(f for f in filters if f["name"] == "envoy.filters.http.jwt_authn")
    rules = jwt["typed_config"]["rules"]
    assert rules[-1] == {"match": {"prefix": "/"}, "requires": {"provider_name": "users"}}
    matches = [r["match"] for r in rules[:-1]]
    # The RPCs whose access option is ACCESS_PUBLIC, each as its path and method.
    public = {(m["headers"][0]["string_match"]["exact"], path)
              for m in matches if "safe_regex" in m
              for path in PUBLIC_PATHS if re.fullmatch(m["safe_regex"]["regex"], path)}
    assert public == {("POST", "/v1/users"), ("POST", "/v1/auth/login"),
                      ("POST", "/v1/auth/refresh"), ("POST", "/v1/auth/logout"),
                      ("GET", "/.well-known/jwks.json")}
    assert len(public) == len(matches) - len(render.EDGE_PUBLIC_ROUTES)
    own = {m["path"] for m in matches if "path" in m}
    assert own | {p for _, p in public} == PUBLIC_PATHS
    # No other spelling or neighbour of a public path is public.
    for path in ["/v1/users/1", "/v1/users/", "/v1/auth/login/x", "/v1/usersx"]:
        assert not any(re.fullmatch(m["safe_regex"]["regex"], path)
                       for m in matches if "safe_regex" in m), path
    for method, path in [("POST", "/v1/users"), ("POST", "/v1/auth/login"),
                         ("POST", "/v1/auth/refresh"), ("POST", "/v1/auth/logout"),
                         ("GET", "/.well-known/jwks.json")]:
        assert len(routed(config, method, path)) == 1, path
    direct = {r["match"]["path"]: r["direct_response"]["status"] for r in route_table(config)
              if "direct_response" in r
              and not r["match"].get("path", "/twitter.").startswith("/twitter.")}
    assert direct == {"/healthz": 200, "/openapi.json": 200}


def test_filters_run_in_the_documented_order(config: dict[str, Any]) -> None:
    names = [f["name"] for f in hcm(config)["http_filters"]]
    expected = ["lua.cors", "envoy.filters.http.local_ratelimit", "envoy.filters.http.buffer",
                "envoy.filters.http.jwt_authn", "lua.json_keys", "lua.grpc_status",
                "envoy.filters.http.grpc_json_transcoder", "lua.rpc_checks",
                "envoy.filters.http.ratelimit"]
    assert [n for n in names if n in expected] == expected
    assert names[-1] == "envoy.filters.http.router"


def test_client_sent_edge_headers_are_removed_first(config: dict[str, Any]) -> None:
    [early] = hcm(config)["early_header_mutation_extensions"]
    removed = [m["remove"] for m in early["typed_config"]["mutations"]]
    assert set(removed) == set(render.EDGE_ONLY_HEADERS)
    assert {"x-user-id", "x-internal-token", EDGE_TOKEN_HEADER, routes.ORIGINAL_PATH,
            routes.ORIGINAL_METHOD} <= set(removed)


def test_the_environment_sets_the_knobs() -> None:
    token = "t" * 40
    config = render.render(render.options_from_env({
        "USERS_ADDR": "10.0.0.5:7000", "USERS_PROCESS_PORTS": "7010,7020",
        "TWEETS_ADDR": "tweets.internal:7100",
        "EDGE_PORT": "18081", "ENVOY_ADMIN_PORT": "19902",
        "ENVOY_ACCESS_LOG": "/tmp/edge-access.log",
        "EDGE_MAX_REQUEST_BYTES": "1234", "EDGE_XFF_TRUSTED_HOPS": "2",
        "EDGE_RATELIMIT_TIMEOUT_MS": "100", "INTERNAL_TOKEN": token}))
    manager = hcm(config)
    filters = {f["name"]: f["typed_config"] for f in manager["http_filters"]}
    assert filters["envoy.filters.http.buffer"]["max_request_bytes"] == 1234
    assert manager["xff_num_trusted_hops"] == 2
    limiter = filters["envoy.filters.http.ratelimit"]
    assert limiter["timeout"] == "0.100s"
    assert limiter["failure_mode_deny"] is False  # fails open
    assert limiter["rate_limit_service"]["grpc_service"]["initial_metadata"] == [
        {"key": "x-internal-token", "value": token}]
    added = manager["route_config"]["virtual_hosts"][0]["request_headers_to_add"]
    assert [a["header"] for a in added] == [
        {"key": EDGE_TOKEN_HEADER, "value": edge_token(token)},
        # the client address use_remote_address settled on (the login throttle's source)
        {"key": CLIENT_ADDRESS_HEADER, "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}]
    assert manager["access_log"][0]["typed_config"]["path"] == "/tmp/edge-access.log"
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"]["port_value"] == 18081
    assert config["admin"]["address"]["socket_address"]["port_value"] == 19902

    def endpoints(name: str) -> list[tuple[str, int]]:
        cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == name)
        return [(e["endpoint"]["address"]["socket_address"]["address"],
                 e["endpoint"]["address"]["socket_address"]["port_value"])
                for e in cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]]

    # Every process of a service that has ports of its own, else the service's address.
    assert endpoints("users") == [("10.0.0.5", 7010), ("10.0.0.5", 7020)]
    assert endpoints("tweets") == [("tweets.internal", 7100)]
    assert endpoints("edge_self") == [("127.0.0.1", 18081)]


def test_a_cluster_for_each_service_and_the_config_is_plain_yaml(
        config: dict[str, Any]) -> None:
    clusters = {c["name"] for c in config["static_resources"]["clusters"]}
    assert clusters == {*render.present_services(), "edge_self"}
    assert yaml.safe_load(yaml.safe_dump(config)) == config  # what Envoy is given
