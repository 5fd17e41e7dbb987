"""Renders the Envoy configuration for the edge from the stack's ports.

    python -m edge.render OUT.yaml

Reads EDGE_PORT, ENVOY_ADMIN_PORT, <SERVICE>_ADDR (host:port of each service)
and ENVOY_ACCESS_LOG (a path, default stdout) from the environment. Only
services that exist in services/ get a cluster; the gRPC services each one
serves are read from the descriptor set, so a new RPC needs no edge change.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

TYPE = "type.googleapis.com/"
REPO = Path(__file__).resolve().parent.parent
DESCRIPTOR = REPO / "generated" / "descriptors" / "twitter.pb"
DEFAULT_ADDRS = {"users": 17101, "tweets": 17102, "timeline": 17103, "search": 17104,
                 "media": 17105, "messages": 17106}

# Routes that need no token: sign-up, login, refresh, logout, JWKS, health.
PUBLIC_ROUTES: list[dict[str, Any]] = [
    {"path": "/v1/users", "headers": [{"name": ":method",
                                       "string_match": {"exact": "POST"}}]},
    {"path": "/v1/auth/login"},
    {"path": "/v1/auth/refresh"},
    {"path": "/v1/auth/logout"},
    {"path": "/.well-known/jwks.json"},
    {"path": "/healthz"},
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


def _lua_pattern(template: str) -> str:
    """/v1/users/{user_id}/follow -> ^/v1/users/[^/]+/follow$ (Lua pattern)."""
    out, i = [], 0
    while i < len(template):
        if template[i] == "{":
            i = template.index("}", i) + 1
            out.append("[^/]+")
            continue
        ch = template[i]
        out.append("%" + ch if ch in "^$()%.[]*+-?" else ch)
        i += 1
    return "^" + "".join(out) + "$"


def strict_json_rules(areas: list[str], descriptor_path: Path = DESCRIPTOR) -> list[
        tuple[str, str, list[str]]]:
    """(HTTP method, path pattern, allowed JSON keys) of every route with a body."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    messages = {f".{f.package}.{m.name}": m for f in files.file for m in f.message_type}
    rules = []
    for f in files.file:
        if f.package.split(".")[1:2] and f.package.split(".")[1] not in areas:
            continue
        for service in f.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                verb = rule.WhichOneof("pattern")
                if verb is None or rule.body != "*":
                    continue
                fields = messages[method.input_type].field
                keys = sorted({k for fd in fields for k in (fd.name, fd.json_name)})
                rules.append((verb.upper(), _lua_pattern(getattr(rule, verb)), keys))
    return rules


def strict_json_lua(areas: list[str]) -> str:
    def lua_str(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    rows = []
    for verb, pattern, keys in strict_json_rules(areas):
        allowed = ", ".join(f"[{lua_str(k)}] = true" for k in keys)
        rows.append(f"  {{{lua_str(verb)}, {lua_str(pattern)}, {{{allowed}}}}},")
    script = (Path(__file__).parent / "strict_json.lua").read_text()
    return "RULES = {\n" + "\n".join(rows) + "\n}\n\n" + script


def present_services() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "services").glob("*/__main__.py"))


def _address(area: str) -> tuple[str, int]:
    value = os.environ.get(f"{area.upper()}_ADDR", f"127.0.0.1:{DEFAULT_ADDRS.get(area, 0)}")
    host, _, port = value.rpartition(":")
    return host, int(port)


# HTTP status of a reply Envoy makes itself (bad JSON, missing token, no route,
# upstream down...) to the gRPC code its JSON body carries, so every error body
# has the same {code, message, details} shape as a transcoded gRPC status.
LOCAL_REPLY_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 412: 9, 413: 3, 429: 8,
                     500: 13, 502: 14, 503: 14, 504: 4}


def _status_is(code: int) -> dict[str, Any]:
    return {"status_code_filter": {"comparison": {
        "op": "EQ", "value": {"default_value": code, "runtime_key": f"edge.local_reply.{code}"}}}}


def local_reply_config() -> dict[str, Any]:
    def body(code: int) -> dict[str, Any]:
        return {"json_format": {"code": code, "message": "%LOCAL_REPLY_BODY%", "details": []},
                "content_type": "application/json"}

    mappers = [{"filter": _status_is(status), "body_format_override": body(code)}
               for status, code in LOCAL_REPLY_CODES.items()]
    return {"mappers": mappers}


def cluster(name: str, host: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "type": "STRICT_DNS",
        "connect_timeout": "2s",
        "lb_policy": "ROUND_ROBIN",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": f"{TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            },
        },
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}},
        ]}]},
        "health_checks": [{
            "timeout": "1s", "interval": "5s", "unhealthy_threshold": 2,
            "healthy_threshold": 1, "grpc_health_check": {},
        }],
    }


def render(edge_port: int, admin_port: int, access_log: str | None) -> dict[str, Any]:
    areas = grpc_services()
    present = [a for a in present_services() if a in areas]
    routes: list[dict[str, Any]] = [
        {"match": {"path": "/healthz"}, "direct_response": {
            "status": 200, "body": {"inline_string": '{"status":"ok"}'}},
         "response_headers_to_add": [{"header": {"key": "content-type",
                                                 "value": "application/json"}}]},
    ]
    for area in present:
        for service in areas[area]:
            routes.append({"match": {"prefix": f"/{service}/"},
                           "route": {"cluster": area, "timeout": "15s"}})
    routes.append({"match": {"prefix": "/"},
                   "direct_response": {"status": 404, "body": {"inline_string": "no such route"}}})

    clusters = [cluster(area, *_address(area)) for area in present]
    clusters.append(cluster("edge_self", "127.0.0.1", edge_port) | {"health_checks": []})

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
                              "preserve_proto_field_names": False},
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
                "claim_to_headers": [{"header_name": "x-user-id", "claim_name": "sub"}],
                "remote_jwks": {
                    "http_uri": {"uri": f"http://127.0.0.1:{edge_port}/.well-known/jwks.json",
                                 "cluster": "edge_self", "timeout": "2s"},
                    "cache_duration": "60s",
                    "async_fetch": {"fast_listener": False},
                    "retry_policy": {"num_retries": 3},
                },
            }},
            "rules": [*({"match": m} for m in PUBLIC_ROUTES),
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
                "request_id": "%REQ(X-REQUEST-ID)%", "upstream": "%UPSTREAM_CLUSTER%",
                "bytes_in": "%BYTES_RECEIVED%", "bytes_out": "%BYTES_SENT%",
                "flags": "%RESPONSE_FLAGS%",
            }},
        },
    }]
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                 "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "edge",
        "codec_type": "AUTO",
        "generate_request_id": True,
        "local_reply_config": local_reply_config(),
        "access_log": access_logs,
        "route_config": {"name": "edge", "virtual_hosts": [{
            "name": "edge", "domains": ["*"], "routes": routes,
            # Internal RPCs authenticate with this header; clients must never set it.
            "request_headers_to_remove": ["x-internal-token"],
        }]},
        "http_filters": [
            jwt,
            {"name": "envoy.filters.http.lua", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                "default_source_code": {"inline_string": strict_json_lua(present)}}},
            transcoder,
            {"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
        ],
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1",
                                                 "port_value": admin_port}}},
        "static_resources": {
            "listeners": [{
                "name": "edge",
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": edge_port}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": hcm,
                }]}],
            }],
            "clusters": clusters,
        },
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m edge.render OUT.yaml", file=sys.stderr)
        return 2
    config = render(int(os.environ.get("EDGE_PORT", "8080")),
                    int(os.environ.get("ENVOY_ADMIN_PORT", "19901")),
                    os.environ.get("ENVOY_ACCESS_LOG"))
    out = Path(argv[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
