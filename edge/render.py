"""Renders the Envoy configuration for the edge from the stack's ports.

    python -m edge.render OUT.yaml                       # the local stack
    python -m edge.render OUT.yaml --listen-address 0.0.0.0 --assets-dir DIR \
        --drop-removed-hosts [--tls-dir /etc/tls]        # a Kubernetes pod

Reads EDGE_PORT, ENVOY_ADMIN_PORT, <SERVICE>_ADDR (host:port of each service)
and ENVOY_ACCESS_LOG (a path, default stdout) from the environment, and the
edge's own knobs (defaults in brackets) into an EdgeOptions (edge/options.py);
`render` builds the configuration from the options alone:

    EDGE_JWKS_CACHE_SECONDS    how long a fetched JWKS is trusted [60]; see
                               "Rotating the JWT signing key" in k8s/README.md

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

--assets-dir copies the files Envoy reads at start (the transcoder's
descriptor set, the /openapi.json body) into DIR and points the configuration
at the copies, for an Envoy container that does not hold the repository.
--tls-dir serves TLS on the edge listener with DIR/tls.crt and DIR/tls.key (a
kubernetes.io/tls Secret), through an SDS file written beside OUT that Envoy
watches, so a renewed certificate needs no restart.

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

import argparse
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import descriptor_pb2
from pydantic import SecretStr

from edge import limits, routes
from edge.filters import (
    CODE_NAMES,
    EDGE_PUBLIC_ROUTES,
    EDGE_SELF,
    ENVOY_STATUS_OF,
    RATELIMIT,
    STATUS_OF,
    http_filters,
)
from edge.options import DESCRIPTOR, OPENAPI, REPO, EdgeOptions, Endpoint
from services.ratelimit.rules import Limit
from services.shared.config import check_internal_token
from services.shared.ports import SERVICE_PORTS
from services.shared.security.auth import (
    CLIENT_ADDRESS_HEADER,
    EDGE_TOKEN_HEADER,
    SESSION_ID_HEADER,
    TIER_HEADER,
    USER_ID_HEADER,
    edge_token,
)

__all__ = ["DESCRIPTOR", "EDGE_PUBLIC_ROUTES", "ENVOY_STATUS_OF", "OPENAPI", "STATUS_OF",
           "EdgeOptions", "render"]

TYPE = "type.googleapis.com/"
OTLP_CLUSTER = "otlp_collector"

# Headers only the edge may set: what jwt_authn and the Lua filters compute,
# and the token internal RPCs authenticate with.
EDGE_ONLY_HEADERS = [USER_ID_HEADER, "x-rl-op", "x-internal-token", EDGE_TOKEN_HEADER,
                     CLIENT_ADDRESS_HEADER, SESSION_ID_HEADER, TIER_HEADER, routes.ORIGINAL_PATH,
                     routes.ORIGINAL_METHOD]

# A process that died (or is restarting) refuses connections or resets them;
# the edge tries another process of the service so no client sees it. Any
# request may be retried when it never reached the service (connect failure,
# refused stream) or when the service refused it before any side effect
# (x-refused: before-side-effect, services/shared/rpc/interceptors/: its store's
# breaker was open); a read also when its connection was reset mid-call or it
# answered UNAVAILABLE (a read has no side effect).
REFUSED = {"name": "x-refused", "string_match": {"exact": "before-side-effect"}}
_RETRY = {"num_retries": 2, "retry_host_predicate": [
    {"name": "envoy.retry_host_predicates.previous_hosts", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3"
                 ".PreviousHostsPredicate"}}],
    "host_selection_retry_max_attempts": 3}
WRITE_RETRY = _RETRY | {"retry_on": "connect-failure,refused-stream,retriable-headers",
                        "retriable_headers": [REFUSED]}
READ_RETRY = _RETRY | {"retry_on": "connect-failure,refused-stream,reset,unavailable"}

# A process whose required store is unreachable answers its health check
# NOT_SERVING (services/shared/resilience/health.py) and is out of rotation within one
# interval; back within one interval of answering SERVING again. Outlier
# detection also ejects a process that answers 5 gateway errors (UNAVAILABLE)
# in a row between checks, for 1 s at first; it never ejects every process.
HEALTH_CHECK = {"timeout": "1s", "interval": "1s", "unhealthy_threshold": 1,
                "healthy_threshold": 1, "no_traffic_interval": "1s",
                "grpc_health_check": {}}
OUTLIER_DETECTION = {"consecutive_gateway_failure": 5,
                     "enforcing_consecutive_gateway_failure": 100,
                     "consecutive_5xx": 1000, "enforcing_consecutive_5xx": 0,
                     "enforcing_success_rate": 0, "interval": "1s",
                     "base_ejection_time": "1s", "max_ejection_time": "5s",
                     "max_ejection_percent": 50}

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

# HTTP status of a reply Envoy makes itself (bad JSON, missing token, no route,
# upstream down...) to the gRPC code its JSON body carries, so every error body
# has the same {code, message, details} shape as a transcoded gRPC status.
LOCAL_REPLY_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 413: 3, 429: 8,
                     500: 13, 502: 14, 503: 14, 504: 4}
JSON_HEADER = [{"header": {"key": "content-type", "value": "application/json"}}]


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


def present_services() -> list[str]:
    """The gRPC servers in the tree (services/migrations runs once, serves nothing)."""
    return sorted(s for s in SERVICE_PORTS if (REPO / "services" / s / "__main__.py").is_file())


def cluster_areas() -> list[str]:
    """The clusters the edge needs: every service present that serves gRPC
    services of the API, then ratelimit when it is present."""
    areas = grpc_services()
    present = [a for a in present_services() if a in areas]
    return present + ([RATELIMIT] if RATELIMIT in present_services() else [])


def options_from_env(env: Mapping[str, str], **overrides: Any) -> EdgeOptions:
    """The options for the clusters this repository has, from an environment."""
    return EdgeOptions.from_env(env, cluster_areas(), **overrides)


def _status_is(code: int) -> dict[str, Any]:
    return {"status_code_filter": {"comparison": {
        "op": "EQ", "value": {"default_value": code, "runtime_key": f"edge.local_reply.{code}"}}}}


def _json_body(code: int, message: str = "%LOCAL_REPLY_BODY%") -> dict[str, Any]:
    return {"json_format": {"code": code, "status": CODE_NAMES[code], "message": message,
                            "details": []},
            "content_type": "application/json"}


def local_reply_config(read_limit: Limit) -> dict[str, Any]:
    mappers = [limits.local_429_mapper(read_limit, _json_body)]
    mappers += [{"filter": _status_is(status), "body_format_override": _json_body(code)}
                for status, code in LOCAL_REPLY_CODES.items()]
    return {"mappers": mappers}


def cluster(name: str, endpoints: list[Endpoint] | tuple[Endpoint, ...]) -> dict[str, Any]:
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
        "health_checks": [HEALTH_CHECK],
        "outlier_detection": OUTLIER_DETECTION,
    }


def clusters(options: EdgeOptions) -> list[dict[str, Any]]:
    """One per upstream, the edge itself (the JWKS goes through its own route
    table) and the span collector; none health-checked but the services."""
    built = [cluster(area, endpoints) for area, endpoints in options.upstreams.items()]
    unchecked: dict[str, Any] = {"health_checks": [], "outlier_detection": None}
    built.append(_without_none(cluster(EDGE_SELF, [("127.0.0.1", options.port)]) | unchecked))
    if options.otlp:
        built.append(_without_none(cluster(OTLP_CLUSTER, [options.otlp]) | unchecked))
    if options.drop_removed_hosts:
        for c in built:
            c["ignore_health_on_host_removal"] = True
    return built


def _without_none(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if v is not None}


def route_table(options: EdgeOptions, bindings: list[routes.Binding]) -> list[dict[str, Any]]:
    """/healthz and /openapi.json answered by Envoy, one route per RPC binding,
    and a 404 for anything else."""
    streams = streaming_methods()
    has_ratelimit = RATELIMIT in options.upstreams

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

    return [
        {"match": {"path": "/healthz"}, "direct_response": {
            "status": 200, "body": {"inline_string": '{"status":"ok"}'}},
         "response_headers_to_add": JSON_HEADER},
        {"match": {"path": "/openapi.json", "headers": [
            {"name": ":method", "string_match": {"exact": "GET"}}]},
         "direct_response": {"status": 200, "body": {"filename": str(options.openapi)}},
         "response_headers_to_add": JSON_HEADER},
        *routes.routes(bindings, action),
        {"match": {"prefix": "/"}, "direct_response": {
            "status": 404, "body": {"inline_string": "no such route"}}},
    ]


def access_logs(path: str) -> list[dict[str, Any]]:
    """One JSON line per request, with the client's method and path (not the
    POST /pkg.Service/Method the transcoder made of them) and the gRPC status
    the upstream returned. Envoy's %GRPC_STATUS% guesses an error's status
    from the HTTP one (400 -> Internal): errors log the code their JSON body
    carries (edge/grpc_status.lua), "-" when no upstream answered (e.g. the
    edge's own 401)."""
    def logger(grpc_status: str, op: str, status: int) -> dict[str, Any]:
        return {
            "name": "envoy.access_loggers.file",
            "filter": {"status_code_filter": {"comparison": {"op": op, "value": {
                "default_value": status, "runtime_key": f"edge.access_log.{op.lower()}"}}}},
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3."
                         "FileAccessLog",
                "path": path,
                "log_format": {"json_format": {
                    "time": "%START_TIME%",
                    "method": f"%REQ({routes.ORIGINAL_METHOD.upper()}?:METHOD)%",
                    "path": f"%REQ({routes.ORIGINAL_PATH.upper()}?:PATH)%",
                    "status": "%RESPONSE_CODE%",
                    "grpc_status": grpc_status, "duration_ms": "%DURATION%",
                    "request_id": "%REQ(X-REQUEST-ID)%", "trace_id": "%TRACE_ID%",
                    "upstream": "%UPSTREAM_CLUSTER%",
                    "client": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
                    "user_id": "%REQ(X-USER-ID)%",
                    "bytes_in": "%BYTES_RECEIVED%", "bytes_out": "%BYTES_SENT%",
                    "flags": "%RESPONSE_FLAGS%", "details": "%RESPONSE_CODE_DETAILS%",
                }},
            },
        }

    # Below 400 the transcoder answered from an OK status: %GRPC_STATUS% says so.
    return [logger("%GRPC_STATUS%", "LE", 399),
            logger("%DYNAMIC_METADATA(edge.grpc:status)%", "GE", 400)]


def tracing(options: EdgeOptions) -> dict[str, Any]:
    """Envoy's OpenTelemetry tracer: a SERVER span per request (named after its
    route, tagged with x-request-id as `guid:x-request-id`), whose context the
    services continue (traceparent). EDGE_TRACE_SAMPLING_PERCENT of requests
    are traced [100]; the services follow the edge's decision."""
    return {
        "provider": {"name": "envoy.tracers.opentelemetry", "typed_config": {
            "@type": f"{TYPE}envoy.config.trace.v3.OpenTelemetryConfig",
            "grpc_service": {"envoy_grpc": {"cluster_name": OTLP_CLUSTER}, "timeout": "1s"},
            "service_name": options.service_name,
        }},
        "random_sampling": {"value": options.trace_sampling_percent},
        "custom_tags": [{"tag": "http.route", "request_header": {
            "name": routes.ORIGINAL_PATH, "default_value": "-"}}],
    }


def connection_manager(options: EdgeOptions) -> dict[str, Any]:
    """The edge listener's HTTP connection manager: routes, filters, logs."""
    areas = grpc_services()
    served = [a for a in options.upstreams if a in areas]
    bindings = routes.bindings(served, DESCRIPTOR)
    read_limit, exempt = limits.per_address(options.rules)
    virtual_host: dict[str, Any] = {
        "name": "edge", "domains": ["*"], "routes": route_table(options, bindings),
        # Proof for the services that the request comes from the edge, so they
        # trust the x-user-id jwt_authn set (services/shared/rpc/interceptors/).
        "request_headers_to_add": [{
            "header": {"key": EDGE_TOKEN_HEADER, "value": edge_token(options.internal_token)},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}, {
            # The client address use_remote_address settled on (below): the
            # login throttle keys on it (services/users/login_throttle.py).
            "header": {"key": CLIENT_ADDRESS_HEADER,
                       "value": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"},
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
        "xff_num_trusted_hops": options.xff_trusted_hops,
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
        "access_log": access_logs(options.access_log),
        "route_config": {
            "name": "edge",
            "max_direct_response_body_size_bytes": 4 * 1024 * 1024,  # the OpenAPI document
            "virtual_hosts": [virtual_host],
        },
        "http_filters": http_filters(options, [s for a in served for s in areas[a]],
                                     bindings, read_limit, exempt),
    }
    if options.otlp:
        hcm["tracing"] = tracing(options)
    return hcm


def _http_listener(name: str, address: str, port: int, hcm: dict[str, Any],
                   transport_socket: dict[str, Any] | None = None) -> dict[str, Any]:
    chain: dict[str, Any] = {"filters": [{
        "name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
    if transport_socket:
        chain["transport_socket"] = transport_socket
    return {"name": name, "address": {"socket_address": {"address": address,
                                                         "port_value": port}},
            "filter_chains": [chain]}


TLS_CERT_NAME = "edge_certificate"
TLS_SDS_FILE = "tls-sds.yaml"


def tls_sds(tls_dir: Path) -> dict[str, Any]:
    """The file Envoy reads the edge's certificate from (SDS over a file):
    watching the Secret's directory, a renewed certificate (cert-manager, the
    kubelet's atomic symlink swap) is picked up without a restart."""
    return {"resources": [{
        "@type": f"{TYPE}envoy.extensions.transport_sockets.tls.v3.Secret",
        "name": TLS_CERT_NAME,
        "tls_certificate": {
            "certificate_chain": {"filename": str(tls_dir / "tls.crt")},
            "private_key": {"filename": str(tls_dir / "tls.key")},
            "watched_directory": {"path": str(tls_dir)},
        },
    }]}


def downstream_tls(tls_dir: Path, sds_path: Path) -> dict[str, Any]:
    """TLS 1.2+ on the edge listener; HTTP/2 and HTTP/1.1 by ALPN."""
    return {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": f"{TYPE}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "common_tls_context": {
            "alpn_protocols": ["h2", "http/1.1"],
            "tls_params": {"tls_minimum_protocol_version": "TLSv1_2"},
            "tls_certificate_sds_secret_configs": [{"name": TLS_CERT_NAME, "sds_config": {
                "path_config_source": {"path": str(sds_path),
                                       "watched_directory": {"path": str(tls_dir)}},
                "resource_api_version": "V3"}}],
        },
    }}


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
    # Scraped from other pods: every interface.
    listener = _http_listener("metrics", "0.0.0.0", port, hcm)  # noqa: S104
    admin = {"name": "envoy_admin", "type": "STATIC", "connect_timeout": "1s",
             "load_assignment": {"cluster_name": "envoy_admin", "endpoints": [{"lb_endpoints": [
                 {"endpoint": {"address": {"socket_address": {
                     "address": "127.0.0.1", "port_value": admin_port}}}}]}]}}
    return listener, admin


def render(options: EdgeOptions, sds_path: Path | None = None) -> dict[str, Any]:
    """Envoy's bootstrap configuration for these options (pure: reads only the
    descriptor set and the Lua scripts of the repository). With TLS, `sds_path`
    is where the tls_sds() file is written."""
    tls = None
    if options.tls_dir:
        tls = downstream_tls(options.tls_dir, sds_path or options.tls_dir / TLS_SDS_FILE)
    listeners = [_http_listener("edge", options.listen_address, options.port,
                                connection_manager(options), tls)]
    all_clusters = clusters(options)
    if options.metrics_port:
        listener, admin_cluster = metrics_listener(options.metrics_port, options.admin_port)
        listeners.append(listener)
        all_clusters.append(admin_cluster)
    config: dict[str, Any] = {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1",
                                                 "port_value": options.admin_port}}},
        # Spans leave in batches at most half a second apart (Envoy's default is
        # 5 s, which keeps a fresh trace from the backend for that long).
        "layered_runtime": {"layers": [{"name": "static", "static_layer": {
            "tracing.opentelemetry.flush_interval_ms": 500,
            "tracing.opentelemetry.min_flush_spans": 64}}]},
        "static_resources": {
            "listeners": listeners,
            "clusters": all_clusters,
        },
    }
    if tls:
        config["node"] = {"id": "edge", "cluster": "edge"}  # SDS needs a node
    return config


def copy_assets(options: EdgeOptions, directory: Path) -> EdgeOptions:
    """The files Envoy reads at start, copied into `directory`, and the options
    pointing at the copies."""
    directory.mkdir(parents=True, exist_ok=True)
    descriptor, openapi = directory / "twitter.pb", directory / "openapi.json"
    shutil.copyfile(options.descriptor, descriptor)
    shutil.copyfile(options.openapi, openapi)
    return replace(options, descriptor=descriptor, openapi=openapi)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m edge.render")
    parser.add_argument("out", type=Path, help="where to write Envoy's YAML configuration")
    parser.add_argument("--listen-address", default="127.0.0.1",
                        help="the edge listener's address (0.0.0.0 in a pod) [127.0.0.1]")
    parser.add_argument("--assets-dir", type=Path,
                        help="copy the descriptor set and OpenAPI document here for Envoy")
    parser.add_argument("--drop-removed-hosts", action="store_true",
                        help="forget an upstream host as soon as it leaves DNS (Kubernetes)")
    parser.add_argument("--tls-dir", type=Path,
                        help="serve TLS with DIR/tls.crt and DIR/tls.key (re-read on change)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _arguments(argv[1:])
    # The edge derives its identity from the token: refuse a missing or known one.
    check_internal_token(SecretStr(os.environ.get("INTERNAL_TOKEN", "")))
    options = options_from_env(os.environ, listen_address=args.listen_address,
                               drop_removed_hosts=args.drop_removed_hosts, tls_dir=args.tls_dir)
    if args.assets_dir:
        options = copy_assets(options, args.assets_dir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sds_path = args.out.parent / TLS_SDS_FILE
    if options.tls_dir:
        sds_path.write_text(yaml.safe_dump(tls_sds(options.tls_dir), sort_keys=False))
    args.out.write_text(yaml.safe_dump(render(options, sds_path), sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
