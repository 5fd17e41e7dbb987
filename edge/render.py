"""Renders the Envoy configuration for the edge from the stack's ports.

    python -m edge.render OUT.yaml

Reads EDGE_PORT, ENVOY_ADMIN_PORT, <SERVICE>_ADDR (host:port of each service)
and ENVOY_ACCESS_LOG (a path, default stdout) from the environment, and the
edge's own knobs (defaults in brackets):

    EDGE_MAX_REQUEST_BYTES     request bodies above this get 413 [65536]
    EDGE_CORS_ORIGINS          comma-separated allowed origins, "*" for any [*]
    EDGE_XFF_TRUSTED_HOPS      proxies in front of the edge whose X-Forwarded-For
                               is trusted for the client address [0]
    EDGE_RATELIMIT_TIMEOUT_MS  how long a request waits for the rate-limit
                               service before it is let through [250]
    INTERNAL_TOKEN             presented to the ratelimit service; the edge
                               token the services trust is derived from it
                               [the local one]
    RATELIMIT_CONFIG, RATELIMIT_ENVIRONMENT
                               the rate-limit file and environment, as the
                               ratelimit service reads them [edge/ratelimits.yaml,
                               local]

Only services that exist in services/ get a cluster; the gRPC services each
one serves are read from the descriptor set, so a new RPC needs no edge change.

Filters, in request order (edge/limits.py says which requests skip which):
Lua CORS (only requests with an Origin: answers preflights, adds CORS headers
to every response), local rate limit (GET only: a token bucket per client
address inside Envoy), buffer (413 above the body limit), jwt_authn (401
unless the route is public; x-user-id from `sub`), Lua JSON keys (writes: the
body's top-level keys, for the strict-JSON check), Lua status mapping
(responses with status 400 or 503 only: the DESIGN's HTTP status for each gRPC
code), gRPC-JSON transcoder (rewrites :path to the RPC), Lua RPC checks
(writes: strict JSON and the rate-limit op, keyed on the RPC), ratelimit (the
global limits of writes, asked only on write routes; fails open), router.
Routes match the RPC plus the client's canonical path and method, so no other
spelling of a path and no plain gRPC call reaches a service (edge/routes.py).
Every request forwarded to a service carries the edge token (x-edge-token),
with which services trust x-user-id. Headers the edge computes (x-user-id,
x-rl-op, x-edge-token, x-envoy-original-*) and the internal token are removed
from client requests before any filter runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from google.protobuf import descriptor_pb2
from pydantic import SecretStr

from edge import limits, routes
from edge.routes import lua_str
from services.ratelimit.rules import Limit
from services.shared.auth import EDGE_TOKEN_HEADER, SESSION_ID_HEADER, USER_ID_HEADER, edge_token
from services.shared.config import check_internal_token
from services.shared.ports import INFRA_PORTS, SERVICE_PORTS

TYPE = "type.googleapis.com/"
REPO = Path(__file__).resolve().parent.parent
DESCRIPTOR = REPO / "generated" / "descriptors" / "twitter.pb"
OPENAPI = REPO / "generated" / "openapi" / "twitter.json"
RATELIMIT = "ratelimit"
LOCAL_INTERNAL_TOKEN = "local-internal-token"  # noqa: S105 - the local stack's default
# The verified token's account tier (claim `tier`: regular or verified), which
# the per-user write budget of edge/ratelimits.yaml keys on.
TIER_HEADER = "x-user-tier"

# Headers only the edge may set: what jwt_authn and the Lua filters compute,
# and the token internal RPCs authenticate with.
EDGE_ONLY_HEADERS = [USER_ID_HEADER, "x-rl-op", "x-internal-token", EDGE_TOKEN_HEADER,
                     SESSION_ID_HEADER, TIER_HEADER, routes.ORIGINAL_PATH,
                     routes.ORIGINAL_METHOD]

# DESIGN's HTTP status for each gRPC code our services return (the transcoder
# would send FAILED_PRECONDITION as 400).
STATUS_OF = {3: 400, 16: 401, 7: 403, 5: 404, 6: 409, 9: 412, 8: 429, 14: 503, 4: 504}
# What the transcoder sends for them (the standard gRPC-to-HTTP table).
ENVOY_STATUS_OF = {3: 400, 16: 401, 7: 403, 5: 404, 6: 409, 9: 400, 8: 429, 14: 503,
                   4: 504}

# A process that died (or is restarting) refuses connections or resets them;
# the edge tries another process of the service so no client sees it. Any
# request may be retried when it never reached the service (connect failure,
# refused stream); a read also when its connection was reset mid-call.
_RETRY = {"num_retries": 2, "retry_host_predicate": [
    {"name": "envoy.retry_host_predicates.previous_hosts", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3"
                 ".PreviousHostsPredicate"}}],
    "host_selection_retry_max_attempts": 3}
WRITE_RETRY = _RETRY | {"retry_on": "connect-failure,refused-stream"}
READ_RETRY = _RETRY | {"retry_on": "connect-failure,refused-stream,reset"}

# The edge's own routes, which need no token; the routes of RPCs whose access
# option is ACCESS_PUBLIC join them (routes.public_matches).
EDGE_PUBLIC_ROUTES: list[dict[str, Any]] = [{"path": "/healthz"}, {"path": "/openapi.json"}]

# The descriptors sent to the ratelimit service (see edge/ratelimits.yaml), for
# writes only (the routes of non-GET RPCs carry them). A descriptor whose header
# is absent is not sent. Login is limited per account by the users service
# itself, on the account the name resolves to (services/users/accounts.py): the
# edge cannot tell that a username and an e-mail address are one account.
RATE_LIMIT_ACTIONS: list[list[dict[str, Any]]] = [
    [{"remote_address": {}}],
    [{"request_headers": {"header_name": "x-rl-op", "descriptor_key": "op"}},
     {"remote_address": {}}],
    [{"request_headers": {"header_name": "x-rl-op", "descriptor_key": "op"}},
     {"request_headers": {"header_name": "x-user-id", "descriptor_key": "user_id"}}],
    [{"request_headers": {"header_name": TIER_HEADER, "descriptor_key": "tier"}},
     {"request_headers": {"header_name": "x-user-id", "descriptor_key": "user_id"}}],
]


def grpc_services(descriptor_path: Path = DESCRIPTOR) -> dict[str, list[str]]:
    """Area (e.g. "users") to the full names of its gRPC services."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    areas: dict[str, list[str]] = {}
    for f in files.file:
        parts = f.package.split(".")
        if len(parts) == 3 and parts[0] == "twitter":
            for service in f.service:
                areas.setdefault(parts[1], []).append(f"{f.package}.{service.name}")
    return areas


def streaming_methods(descriptor_path: Path = DESCRIPTOR) -> set[str]:
    """gRPC paths of server-streaming RPCs (e.g. the live timeline)."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    return {f"/{f.package}.{s.name}/{m.name}" for f in files.file for s in f.service
            for m in s.method if m.server_streaming}


def json_keys_lua() -> str:
    return (Path(__file__).parent / "json_keys.lua").read_text()


def grpc_status_lua() -> str:
    def table(mapping: dict[int, int]) -> str:
        return "{" + ", ".join(f"[{c}] = {s}" for c, s in sorted(mapping.items())) + "}"

    script = (Path(__file__).parent / "grpc_status.lua").read_text()
    return (f"STATUS_OF = {table(STATUS_OF)}\nENVOY_STATUS_OF = {table(ENVOY_STATUS_OF)}\n\n"
            + script)


def present_services() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "services").glob("*/__main__.py"))


def _addresses(area: str) -> list[tuple[str, int]]:
    """Where a service listens: its address, or, when its processes each have a
    port of their own (<AREA>_PROCESS_PORTS, the local stack), every one of them,
    so that Envoy balances requests over the processes."""
    port = os.environ.get(f"{area.upper()}_PORT") or SERVICE_PORTS.get(area, 0)
    value = os.environ.get(f"{area.upper()}_ADDR") or f"127.0.0.1:{port}"
    host, _, port = value.rpartition(":")
    own = [int(p) for p in os.environ.get(f"{area.upper()}_PROCESS_PORTS", "").split(",") if p]
    return [(host, p) for p in own] or [(host, int(port))]


# HTTP status of a reply Envoy makes itself (bad JSON, missing token, no route,
# upstream down...) to the gRPC code its JSON body carries, so every error body
# has the same {code, message, details} shape as a transcoded gRPC status.
LOCAL_REPLY_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 413: 3, 429: 8,
                     500: 13, 502: 14, 503: 14, 504: 4}


def _status_is(code: int) -> dict[str, Any]:
    return {"status_code_filter": {"comparison": {
        "op": "EQ", "value": {"default_value": code, "runtime_key": f"edge.local_reply.{code}"}}}}


def _json_body(code: int, message: str = "%LOCAL_REPLY_BODY%") -> dict[str, Any]:
    return {"json_format": {"code": code, "message": message, "details": []},
            "content_type": "application/json"}


def local_reply_config(read_limit: Limit) -> dict[str, Any]:
    mappers = [limits.local_429_mapper(read_limit, _json_body)]
    mappers += [{"filter": _status_is(status), "body_format_override": _json_body(code)}
                for status, code in LOCAL_REPLY_CODES.items()]
    return {"mappers": mappers}


def cluster(name: str, endpoints: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "lb_policy": "LEAST_REQUEST",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            },
        },
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}
            for host, port in endpoints
        ]}]},
        "health_checks": [{
            "timeout": "1s", "interval": "5s", "unhealthy_threshold": 2,
            "healthy_threshold": 1, "grpc_health_check": {},
        }],
    }


def _lua_filter(name: str, source: str) -> dict[str, Any]:
    # Named after its script, so stats and the edge benchmark tell them apart.
    return {"name": f"lua.{name}", "typed_config": {
        "@type": f"{TYPE}envoy.extensions.filters.http.lua.v3.Lua",
        "default_source_code": {"inline_string": source}}}


def cors_lua(origins: str) -> str:
    """Browser clients: bearer tokens, no cookies, so no credentials."""
    listed = [o.strip() for o in origins.split(",") if o.strip()]
    any_origin = not listed or "*" in listed
    expose = "x-request-id, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, " \
             "retry-after"
    head = "\n".join([
        f"ANY_ORIGIN = {'true' if any_origin else 'false'}",
        "ORIGINS = {" + ", ".join(f"[{lua_str(o)}] = true" for o in listed if o != "*") + "}",
        f"METHODS = {lua_str('GET, POST, PUT, PATCH, DELETE, OPTIONS')}",
        f"HEADERS = {lua_str('authorization, content-type, x-request-id')}",
        f"EXPOSE = {lua_str(expose)}",
        f"MAX_AGE = {lua_str('600')}",
    ])
    return head + "\n\n" + (Path(__file__).parent / "cors.lua").read_text()


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


OTLP_CLUSTER = "otlp_collector"


def otlp_address(env: dict[str, str]) -> tuple[str, int] | None:
    """Where spans go (OTLP over gRPC), from OTEL_EXPORTER_OTLP_ENDPOINT as the
    services read it; None: no tracing at the edge."""
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint:
        return None
    parts = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    return parts.hostname or "127.0.0.1", parts.port or 4317


def tracing(env: dict[str, str]) -> dict[str, Any]:
    """Envoy's OpenTelemetry tracer: a SERVER span per request (named after its
    route, tagged with x-request-id as `guid:x-request-id`), whose context the
    services continue (traceparent). EDGE_TRACE_SAMPLING_PERCENT of requests
    are traced [100]; the services follow the edge's decision."""
    return {
        "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": {
            "@type": f"{TYPE}envoy.config.trace.v3.OpenTelemetryConfig",
            "grpc_service": {"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "1s"},
            "service_name": env.get("EDGE_SERVICE_NAME", "edge"),
        }},
        "random_sampling": {"value": float(env.get("EDGE_TRACE_SAMPLING_PERCENT", "100"))},
        "custom_tags": [{"tag": "http.route", "request_header": {
            "name": routes.ORIGINAL_PATH, "default_value": "-"}}],
    }


def metrics_listener(port: int, admin_port: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A listener serving only Envoy's Prometheus stats (upstream requests,
    latencies, retries, health per cluster) from the admin port, which stays on
    loopback: the admin API can change Envoy, its stats page cannot."""
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                 "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "metrics",
        "route_config": {"virtual_hosts": [{"name": "metrics", "domains": ["*"], "routes": [
            {"match": {"path": "/stats/prometheus"}, "route": {"cluster": "envoy_admin"}},
            {"match": {"prefix": "/"}, "direct_response": {"status": 404}}]}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
    }
    listener = {"name": "metrics", "address": {"socket_address": {
        "address": "0.0.0.0", "port_value": port}},  # noqa: S104 - scraped from other pods
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                        "typed_config": hcm}]}]}
    admin = {"name": "envoy_admin", "type": "STATIC", "connect_timeout": "1s",
             "load_assignment": {"cluster_name": "envoy_admin", "endpoints": [{"lb_endpoints": [
                 {"endpoint": {"address": {"socket_address": {
                     "address": "127.0.0.1", "port_value": admin_port}}}}]}]}}
    return listener, admin


def render(edge_port: int, admin_port: int, access_log: str | None,
           env: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ) if env is None else env
    areas = grpc_services()
    present = [a for a in present_services() if a in areas]
    has_ratelimit = RATELIMIT in present_services()
    json_header = [{"header": {"key": "content-type", "value": "application/json"}}]
    route_table: list[dict[str, Any]] = [
        {"match": {"path": "/healthz"}, "direct_response": {
            "status": 200, "body": {"inline_string": '{"status":"ok"}'}},
         "response_headers_to_add": json_header},
        {"match": {"path": "/openapi.json", "headers": [
            {"name": ":method", "string_match": {"exact": "GET"}}]},
         "direct_response": {"status": 200, "body": {"filename": str(OPENAPI)}},
         "response_headers_to_add": json_header},
    ]
    streams = streaming_methods()
    bindings = routes.bindings(present, DESCRIPTOR)

    def action(b: routes.Binding) -> dict[str, Any]:
        # The edge span's name: the route as the client knows it.
        decorator = {"operation": f"{b.verb} {b.template}"}
        if b.rpc in streams:
            # Live streams stay open: no overall timeout, but an idle limit
            # well above the heartbeat interval.
            return {"route": {"cluster": b.area, "timeout": "0s", "idle_timeout": "120s"},
                    "decorator": decorator}
        route: dict[str, Any] = {"cluster": b.area, "timeout": "15s",
                                 "retry_policy": WRITE_RETRY if b.is_write else READ_RETRY}
        if has_ratelimit and b.is_write:
            # Writes: the only routes that consult the global rate limits.
            route["rate_limits"] = [{"actions": a} for a in RATE_LIMIT_ACTIONS]
        return {"route": route, "decorator": decorator}

    route_table += routes.routes(bindings, action)
    route_table.append({"match": {"prefix": "/"}, "direct_response": {
        "status": 404, "body": {"inline_string": "no such route"}}})

    clusters = [cluster(area, _addresses(area)) for area in present]
    if has_ratelimit:
        clusters.append(cluster(RATELIMIT, _addresses(RATELIMIT)))
    clusters.append(cluster("edge_self", [("127.0.0.1", edge_port)]) | {"health_checks": []})
    otlp = otlp_address(env)
    if otlp:
        clusters.append(cluster(OTLP_CLUSTER, [otlp]) | {"health_checks": []})

    transcoder = {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http."
                     "grpc_json_transcoder.v3.GrpcJsonTranscoder",
            "proto_descriptor": str(DESCRIPTOR),
            "services": [s for area in present for s in areas[area]],
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
    jwt = {
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
                    "http_uri": {"uri": f"http://127.0.0.1:{edge_port}/.well-known/jwks.json",
                                 "cluster": "edge_self", "timeout": "2s"},
                    "cache_duration": "300s",
                    "async_fetch": {"fast_listener": False},
                    "retry_policy": {"num_retries": 3},
                },
            }},
            "rules": [*({"match": m} for m in routes.public_matches(bindings)
                        + EDGE_PUBLIC_ROUTES),
                      {"match": {"prefix": "/"}, "requires": {"provider_name": "users"}}],
        },
    }
    access_logs = [{
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": access_log or "/dev/stdout",
            "log_format": {"json_format": {
                "time": "%START_TIME%", "method": "%REQ(:METHOD)%",
                "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "status": "%RESPONSE_CODE%",
                "grpc_status": "%GRPC_STATUS%", "duration_ms": "%DURATION%",
                "request_id": "%REQ(X-REQUEST-ID)%", "trace_id": "%TRACE_ID%",
                "upstream": "%UPSTREAM_CLUSTER%",
                "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
                "user_id": "%REQ(X-USER-ID)%",
                "bytes_in": "%BYTES_RECEIVED%", "bytes_out": "%BYTES_SENT%",
                "flags": "%RESPONSE_FLAGS%", "details": "%RESPONSE_CODE_DETAILS%",
            }},
        },
    }]
    read_limit, exempt = limits.per_address(limits.rules(env))
    is_get = limits.header_is(":method", "GET")
    http_filters: list[dict[str, Any]] = [
        # Only browsers send Origin: other clients skip the Lua CORS filter.
        limits.skip_filter(_lua_filter("cors", cors_lua(env.get("EDGE_CORS_ORIGINS", "*"))),
                           limits.not_(limits.header_is("origin", ""))),
        # Before jwt_authn: a flood of bad tokens is limited too.
        limits.local_ratelimit_filter(read_limit, exempt),
        {"name": "envoy.filters.http.buffer", "typed_config": {
            "@type": f"{TYPE}envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": int(env.get("EDGE_MAX_REQUEST_BYTES", "65536"))}},
        jwt,
        # Writes only: the body's keys, while it is still JSON.
        limits.skip_filter(_lua_filter("json_keys", json_keys_lua()), is_get),
        # Only the transcoder's 400 can need another status; a 503 gets Retry-After.
        limits.skip_filter(_lua_filter("grpc_status", grpc_status_lua()),
                           limits.not_(limits.header_matches(":status", "400|503",
                                                             response=True))),
        # Before every filter that must know the RPC: it rewrites :path to it.
        transcoder,
        # Writes only (the transcoder has made every request a POST: its
        # original method tells).
        limits.skip_filter(_lua_filter("rpc_checks", routes.checks_lua(bindings, DESCRIPTOR)),
                           limits.header_is(routes.ORIGINAL_METHOD, "GET")),
    ]
    if has_ratelimit:
        # After the transcoder and the RPC checks: the ratelimit filter acts
        # only on requests routed to a cluster, and routes are the RPCs'.
        http_filters.append(ratelimit_filter(
            int(env.get("EDGE_RATELIMIT_TIMEOUT_MS", "250")),
            env.get("INTERNAL_TOKEN", LOCAL_INTERNAL_TOKEN)))
    http_filters.append({"name": "envoy.filters.http.router", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})
    virtual_host: dict[str, Any] = {
        "name": "edge", "domains": ["*"], "routes": route_table,
        # Proof for the services that the request comes from the edge, so they
        # trust the x-user-id jwt_authn set (services/shared/interceptor.py).
        "request_headers_to_add": [{
            "header": {"key": EDGE_TOKEN_HEADER, "value": edge_token(
                env.get("INTERNAL_TOKEN", LOCAL_INTERNAL_TOKEN))},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}],
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                 "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "edge",
        "codec_type": "AUTO",
        # The client address (rate limits, logs) is the peer's, or the one the
        # trusted proxies in front of the edge put in X-Forwarded-For.
        "use_remote_address": True,
        "xff_num_trusted_hops": int(env.get("EDGE_XFF_TRUSTED_HOPS", "0")),
        "generate_request_id": True,
        "always_set_request_id_in_response": True,
        "early_header_mutation_extensions": [{
            "name": "envoy.http.early_header_mutation.header_mutation",
            "typed_config": {
                "@type": f"{TYPE}envoy.extensions.http.early_header_mutation."
                         "header_mutation.v3.HeaderMutation",
                "mutations": [{"remove": h} for h in EDGE_ONLY_HEADERS],
            },
        }],
        "local_reply_config": local_reply_config(read_limit),
        "access_log": access_logs,
        "route_config": {
            "name": "edge",
            "max_direct_response_body_size_bytes": 4 * 1024 * 1024,  # the OpenAPI document
            "virtual_hosts": [virtual_host],
        },
        "http_filters": http_filters,
    }
    if otlp:
        hcm["tracing"] = tracing(env)
    listeners: list[dict[str, Any]] = [{
        "name": "edge",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": edge_port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": hcm,
        }]}],
    }]
    if env.get("ENVOY_METRICS_PORT"):
        listener, admin_cluster = metrics_listener(int(env["ENVOY_METRICS_PORT"]), admin_port)
        listeners.append(listener)
        clusters.append(admin_cluster)
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1",
                                                 "port_value": admin_port}}},
        # Spans leave in batches at most half a second apart (Envoy's default is
        # 5 s, which keeps a fresh trace from the backend for that long).
        "layered_runtime": {"layers": [{"name": "static", "static_layer": {
            "tracing.opentelemetry.flush_interval_ms": 500,
            "tracing.opentelemetry.min_flush_spans": 64}}]},
        "static_resources": {
            "listeners": listeners,
            "clusters": clusters,
        },
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m edge.render OUT.yaml", file=sys.stderr)
        return 2
    # The edge derives its identity from the token: refuse a missing or known one.
    check_internal_token(SecretStr(os.environ.get("INTERNAL_TOKEN", "")))
    config = render(int(os.environ.get("EDGE_PORT", INFRA_PORTS["EDGE_PORT"])),
                    int(os.environ.get("ENVOY_ADMIN_PORT", INFRA_PORTS["ENVOY_ADMIN_PORT"])),
                    os.environ.get("ENVOY_ACCESS_LOG"))
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
