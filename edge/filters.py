"""Builders of the edge's HTTP filters, one per filter, and the chain in order.

Each takes the options (edge/options.py) and what was read from the descriptor
set, and returns plain dicts: no environment, no files but the Lua scripts
beside this module. The order and what skips which is in edge/render.py's
docstring and edge/limits.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from google.rpc import code_pb2

from edge import limits, routes
from edge.options import DESCRIPTOR, EdgeOptions
from edge.routes import lua_str
from services.ratelimit.rules import Limit
from services.shared.security.auth import SESSION_ID_HEADER, TIER_HEADER

TYPE = "type.googleapis.com/"
HERE = Path(__file__).parent
RATELIMIT = "ratelimit"
EDGE_SELF = "edge_self"

# DESIGN's HTTP status for each gRPC code our services return (the transcoder
# would send FAILED_PRECONDITION as 400).
STATUS_OF = {3: 400, 16: 401, 7: 403, 5: 404, 6: 409, 9: 412, 8: 429, 14: 503, 4: 504,
             10: 409}
# What the transcoder sends for them (the standard gRPC-to-HTTP table).
ENVOY_STATUS_OF = {3: 400, 16: 401, 7: 403, 5: 404, 6: 409, 9: 400, 8: 429, 14: 503,
                   4: 504, 10: 409}

# google.rpc.Code names by number: every error body carries its code's name
# as `status` beside the number (edge/grpc_status.lua, the local replies).
CODE_NAMES = {number: name for name, number in code_pb2.Code.items()}

# The edge's own routes, which need no token; the routes of RPCs whose access
# option is ACCESS_PUBLIC join them (routes.public_matches).
EDGE_PUBLIC_ROUTES: list[dict[str, Any]] = [{"path": "/healthz"}, {"path": "/openapi.json"}]


def json_keys_lua() -> str:
    return (HERE / "json_keys.lua").read_text()


def grpc_status_lua() -> str:
    def table(mapping: dict[int, int]) -> str:
        return "{" + ", ".join(f"[{c}] = {s}" for c, s in sorted(mapping.items())) + "}"

    names = "{" + ", ".join(f"[{c}] = {lua_str(n)}" for c, n in sorted(CODE_NAMES.items())) + "}"
    script = (HERE / "grpc_status.lua").read_text()
    return (f"STATUS_OF = {table(STATUS_OF)}\nENVOY_STATUS_OF = {table(ENVOY_STATUS_OF)}\n"
            f"CODE_NAMES = {names}\n\n" + script)


def cors_lua(origins: str) -> str:
    """Browser clients: bearer tokens, no cookies, so no credentials."""
    listed = [o.strip() for o in origins.split(",") if o.strip()]
    any_origin = not listed or "*" in listed
    # Last-Event-ID: an SSE client that reconnects with fetch() sends it.
    allow = "authorization, content-type, x-request-id, idempotency-key, last-event-id"
    expose = "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, " \
             "retry-after"
    head = "\n".join([
        f"ANY_ORIGIN = {'true' if any_origin else 'false'}",
        "ORIGINS = {" + ", ".join(f"[{lua_str(o)}] = true" for o in listed if o != "*") + "}",
        f"METHODS = {lua_str('GET, POST, PUT, PATCH, DELETE, OPTIONS')}",
        f"HEADERS = {lua_str(allow)}",
        f"EXPOSE = {lua_str(expose)}",
        f"MAX_AGE = {lua_str('600')}",
    ])
    return head + "\n\n" + (HERE / "cors.lua").read_text()


def lua_filter(name: str, source: str) -> dict[str, Any]:
    # Named after its script, so stats and the edge benchmark tell them apart.
    return {"name": f"lua.{name}", "typed_config": {
        "@type": f"{TYPE}envoy.extensions.filters.http.lua.v3.Lua",
        "default_source_code": {"inline_string": source}}}


def ratelimit_filter(timeout_ms: int, internal_token: str) -> dict[str, Any]:
    """Fails open: when the service (or its Redis) is down or slower than the
    timeout, requests go through unlimited (services/ratelimit/server.py says why)."""
    return {"name": "envoy.filters.http.ratelimit", "typed_config": {
        "@type": f"{TYPE}envoy.extensions.filters.http.ratelimit.v3.RateLimit",
        "domain": "edge",
        "timeout": f"{timeout_ms / 1000:.3f}s",
        "failure_mode_deny": False,
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "rate_limit_service": {
            "transport_api_version": "V3",
            "grpc_service": {
                "envoy_grpc": {"cluster_name": RATELIMIT},
                "initial_metadata": [{"key": "x-internal-token", "value": internal_token}],
            },
        },
    }}


def jwt_filter(options: EdgeOptions, bindings: list[routes.Binding]) -> dict[str, Any]:
    """Tokens checked against the users service's JWKS, fetched through the
    edge itself and trusted for `jwks_cache_seconds` (the key-rotation
    arithmetic in k8s/README.md depends on it)."""
    jwks_uri = f"http://127.0.0.1:{options.port}/.well-known/jwks.json"
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": f"{TYPE}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {"users": {
                "issuer": "twitter-mesh",
                "audiences": ["twitter-mesh"],
                "forward": True,
                # The session too: services refuse tokens of revoked sessions.
                "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"},
                                     {"header_name": SESSION_ID_HEADER, "claim_name": "sid"},
                                     {"header_name": TIER_HEADER, "claim_name": "tier"}],
                # Verified tokens, so a client's next request skips the Ed25519
                # check (the chain's dearest step); expiry is still checked.
                "jwt_cache_config": {"jwt_cache_size": 10_000},
                "remote_jwks": {
                    "http_uri": {"uri": jwks_uri, "cluster": EDGE_SELF, "timeout": "2s"},
                    "cache_duration": f"{options.jwks_cache_seconds}s",
                    "async_fetch": {"fast_listener": False},
                    "retry_policy": {"num_retries": 3},
                },
            }},
            "rules": [*({"match": m} for m in routes.public_matches(bindings)
                        + EDGE_PUBLIC_ROUTES),
                      {"match": {"prefix": "/"}, "requires": {"provider_name": "users"}}],
        },
    }


def transcoder_filter(options: EdgeOptions, services: list[str]) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http."
                     "grpc_json_transcoder.v3.GrpcJsonTranscoder",
            "proto_descriptor": str(options.descriptor),
            "services": services,
            "convert_grpc_status": True,
            "print_options": {"add_whitespace": False, "always_print_primitive_fields": True,
                              "always_print_enums_as_ints": False,
                              "preserve_proto_field_names": False,
                              # A stream is newline-delimited JSON, one message a line.
                              "stream_newline_delimited": True},
            # Browsers and form encoders send a space in a query as "+".
            "query_param_unescape_plus": True,
            "request_validation_options": {"reject_unknown_query_parameters": True,
                                           "reject_binding_body_field_collisions": True},
        },
    }


NDJSON = "application/x-ndjson"


def ndjson_filter(bindings: list[routes.Binding]) -> dict[str, Any]:
    """Labels a stream of typed messages as what it is. The transcoder prints
    it one JSON object per line but always says application/json (only its
    SSE framing has a type of its own, and HttpBody streams set theirs). So
    this filter, before the transcoder in the chain and so after it on the
    way back, overwrites the Content-Type of a 200 answer to a request for
    an NDJSON stream route (the client's path: the match is made where the
    request passes this filter, before the transcoder rewrites it). Error
    answers keep their application/json (tests/e2e/test_live_events_edge.py)."""
    paths = "|".join(f"(?:{b.path_regex()})" for b in bindings if b.stream == "ndjson")
    relabel = {"name": "envoy.filters.http.header_mutation", "typed_config": {
        "@type": f"{TYPE}envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
        "mutations": {"response_mutations": [{"append": {
            "header": {"key": "content-type", "value": NDJSON},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}}]}}}
    # Two wrappers, the outer on the request, the inner on the response: one
    # and_matcher over both inputs never relabelled anything on Envoy 1.40.
    only_ok = limits.skip_filter(relabel, limits.not_(
        limits.header_is(":status", "200", response=True)))
    return limits.skip_filter(only_ok, limits.not_(limits.header_matches(":path", paths or "^$")))


def http_filters(options: EdgeOptions, services: list[str], bindings: list[routes.Binding],
                 read_limit: Limit, exempt: list[str]) -> list[dict[str, Any]]:
    """The chain, in request order."""
    is_get = limits.header_is(":method", "GET")
    chain: list[dict[str, Any]] = [
        # Only browsers send Origin: other clients skip the Lua CORS filter.
        limits.skip_filter(lua_filter("cors", cors_lua(options.cors_origins)),
                           limits.not_(limits.header_is("origin", ""))),
        # Before jwt_authn: a flood of bad tokens is limited too.
        limits.local_ratelimit_filter(read_limit, exempt),
        {"name": "envoy.filters.http.buffer", "typed_config": {
            "@type": f"{TYPE}envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": options.max_request_bytes}},
        jwt_filter(options, bindings),
        # Writes only: the body's keys, while it is still JSON.
        limits.skip_filter(lua_filter("json_keys", json_keys_lua()), is_get),
        # Error bodies only: the code's name joins its number, the transcoder's
        # 400 can need another status, a 503 gets Retry-After.
        limits.skip_filter(lua_filter("grpc_status", grpc_status_lua()),
                           limits.not_(limits.header_matches(":status", "[45][0-9][0-9]",
                                                             response=True))),
        # Before the transcoder: on the way back it sees the transcoded answer.
        ndjson_filter(bindings),
        # Before every filter that must know the RPC: it rewrites :path to it.
        transcoder_filter(options, services),
        # Writes only (the transcoder has made every request a POST: its
        # original method tells).
        limits.skip_filter(lua_filter("rpc_checks", routes.checks_lua(bindings, DESCRIPTOR)),
                           limits.header_is(routes.ORIGINAL_METHOD, "GET")),
    ]
    if RATELIMIT in options.upstreams:
        # After the transcoder and the RPC checks: the ratelimit filter acts
        # only on requests routed to a cluster, and routes are the RPCs'.
        chain.append(ratelimit_filter(options.ratelimit_timeout_ms, options.internal_token))
    chain.append({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})
    return chain
