"""Turns protoc-gen-openapiv2's Swagger 2.0 output into the OpenAPI 3.1
document the edge serves at GET /openapi.json (run by tools/gen_protos.sh).

    python tools/openapi3.py SWAGGER_JSON DESCRIPTOR_SET OUT_JSON

Why a second step: the common client generators (openapi-python-client,
openapi-typescript) read OpenAPI 3 only. On the way the document gets what
client developers need and the plugin cannot express:
- a bearer `http` security scheme (clients send `Authorization: Bearer ...`
  without adding the prefix by hand); ACCESS_PUBLIC operations need none;
- only the schemas public operations use (the plugin also emits the
  responses of internal RPCs such as BatchGetTweets);
- short, stable schema names that clash with no language builtin, no titles
  taken from comments (generators turn titles into class names);
- server streams of typed messages as `application/x-ndjson` whose schema
  is the shape of one line, as the edge sends it (no {result, error}
  wrapper), and those of google.api.HttpBody chunks (`response_body`) as
  `text/event-stream`, with the Last-Event-ID header they take;
- the wire conventions stated once, in info.description.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2
from google.rpc import code_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from services.shared.contracts import Access, options_access

# Names a generated class or type must not take: Python builtins and typing
# names, TypeScript/JavaScript globals. The plugin's names are checked against
# them (a clash fails `make gen`); RENAMES resolves the known ones.
RESERVED = frozenset({
    "Any", "Dict", "List", "Optional", "Set", "Tuple", "Type", "Union", "Callable",
    "Error", "Object", "String", "Number", "Boolean", "Symbol", "Date", "Array",
    "Map", "Promise", "Record", "Response", "Request", "Headers", "File", "Blob",
    "Event", "Function", "JSON", "Math", "BigInt", "Unset", "Client",
})
RENAMES = {
    "Any": "ErrorDetail",  # google.protobuf.Any: only in google.rpc.Status.details
    # google.rpc.Status, the error body. Not "Status": a model must not have a
    # field named like itself (openapi-python-client's from_dict breaks).
    "Status": "ApiError",
    "notifications.v1.Heartbeat": "NotificationsHeartbeat",
    "timeline.v1.Heartbeat": "TimelineHeartbeat",
}

NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
JSON = "application/json"

DESCRIPTION = """\
REST/JSON through the Envoy edge; every operation is also a gRPC method
(grpcurl and gRPC clients: see the README).

Conventions, true of every operation:
- Authentication: `Authorization: Bearer <accessToken>` (from POST /v1/users
  or POST /v1/auth/login) on every operation except those whose `security`
  is empty (sign-up, the session calls, the JWKS).
- Field names are lowerCamelCase, in requests and responses alike.
- 64-bit integers (ids, counts, sizes) are JSON strings ("1234"), as in
  proto3's JSON mapping: parse them as big integers, never as doubles.
- Every scalar field is present in a response; an id or count of "0", an
  empty string or false means the value is absent (e.g. replyToTweetId "0":
  not a reply). Message-typed fields that are absent are omitted.
- Timestamps are RFC 3339 strings in UTC.
- Lists are paged: pass the previous response's nextPageToken as pageToken;
  an empty nextPageToken means the last page.
- Errors are an `ApiError` body {code, status, message, details}: `code` is the
  numeric google.rpc.Code and `status` its name (INVALID_ARGUMENT 400,
  UNAUTHENTICATED 401, PERMISSION_DENIED 403, NOT_FOUND 404,
  ALREADY_EXISTS 409, FAILED_PRECONDITION 412, RESOURCE_EXHAUSTED 429,
  UNAVAILABLE 503). INVALID_ARGUMENT carries a google.rpc.BadRequest detail
  whose fieldViolations[].field are the request's JSON (lowerCamelCase) field
  names; RESOURCE_EXHAUSTED and UNAVAILABLE carry Retry-After.
- Live streams come two ways. `application/x-ndjson` (the .../stream
  routes): one JSON object per line, a heartbeat line when nothing happened
  for a while, until the client disconnects. `text/event-stream` (the
  .../events routes, Server-Sent Events for browsers, after Mastodon's
  streaming API): `event: <name>`, `id: <id>` and `data: <one JSON object>`
  per event, a comment line (`:heartbeat`) when idle, `retry:` first; a
  client that reconnects with Last-Event-ID gets what it missed first (up
  to 100 events); they take the bearer header like every operation (read
  them with fetch in a browser: the native EventSource sends no headers).
  Both end after an hour: reconnect."""

CODE_NAMES = [name for name, _ in sorted(code_pb2.Code.items(), key=lambda item: item[1])]


def methods(descriptor_set: Path) -> tuple[set[str], set[str], set[str]]:
    """operationIds (Service_Method) of ACCESS_PUBLIC RPCs, of server streams
    of typed messages (NDJSON at the edge) and of server streams of HttpBody
    chunks (Server-Sent Events)."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    public: set[str] = set()
    streams: set[str] = set()
    events: set[str] = set()
    for f in files.file:
        for s in f.service:
            for m in s.method:
                op = f"{s.name}_{m.name}"
                if options_access(f"{s.name}.{m.name}", m.options) is Access.PUBLIC:
                    public.add(op)
                if m.server_streaming:
                    http_body = m.options.Extensions[annotations_pb2.http].response_body
                    (events if http_body else streams).add(op)
    return public, streams, events


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def schema_name(v2_ref: str) -> str:
    name = v2_ref.removeprefix("#/definitions/")
    return RENAMES.get(name, name)


def convert_schema(node: Any) -> Any:
    """Swagger 2.0 schema -> JSON Schema 2020-12 (OpenAPI 3.1): refs renamed,
    titles dropped, nothing but a description beside a $ref."""
    if isinstance(node, list):
        return [convert_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        out: dict[str, Any] = ref(schema_name(node["$ref"]))
        if "description" in node:
            out["description"] = node["description"]
        return out
    out = {}
    for key, value in node.items():
        if key == "title":
            continue
        if key == "properties":
            out[key] = {p: convert_schema(s) for p, s in value.items()}
        elif key in ("items", "additionalProperties", "allOf", "oneOf", "anyOf"):
            out[key] = convert_schema(value)
        else:
            out[key] = value
    return out


def convert_parameter(param: dict[str, Any]) -> dict[str, Any]:
    schema = {k: v for k, v in param.items()
              if k not in ("name", "in", "description", "required", "collectionFormat")}
    out: dict[str, Any] = {"name": param["name"], "in": param["in"],
                           "required": bool(param.get("required", False)),
                           "schema": convert_schema(schema)}
    if "description" in param:
        out["description"] = param["description"]
    if param.get("collectionFormat") == "multi":
        out["style"], out["explode"] = "form", True
    return out


LAST_EVENT_ID = {
    "name": "Last-Event-ID", "in": "header", "required": False,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
    "description": "The id of the last event received: EventSource sends it when it "
                   "reconnects, and the events after it are sent first (at most 100).",
}
SSE_SUCCESS = {
    "description": "A live stream of Server-Sent Events until the client disconnects: "
                   "`event: <name>`, `id: <id>`, `data: <one JSON object>` and a blank line "
                   "per event (the summary says which events and their data), `:heartbeat` "
                   "comment lines when idle, `retry: <ms>` first.",
    "content": {SSE: {"schema": {"type": "string"}}},
}


def convert_operation(op: dict[str, Any], public: set[str], streams: set[str],
                      events: set[str]) -> dict[str, Any]:
    op_id = op["operationId"]
    out: dict[str, Any] = {k: op[k] for k in ("summary", "description", "tags") if k in op}
    # The method's name, lowerCamelCase (createTweet): generators name the
    # call after it; the tag (TweetService) already says which service.
    method = op_id.split("_", 1)[1]
    out["operationId"] = method[0].lower() + method[1:]
    params = []
    for param in op.get("parameters", []):
        if param["in"] == "body":
            out["requestBody"] = {"required": True, "content": {
                JSON: {"schema": convert_schema(param["schema"])}}}
        else:
            params.append(convert_parameter(param))
    if op_id in events:
        params.append(LAST_EVENT_ID)
    if params:
        out["parameters"] = params
    ok = op["responses"]["200"]
    if op_id in events:
        success = SSE_SUCCESS
    elif op_id in streams:
        # The plugin documents grpc-gateway's {result, error} envelope; the
        # edge's transcoder sends the bare messages, one per line.
        line = ok["schema"]["properties"]["result"]
        success = {"description": "A live stream: one JSON object per line (NDJSON), "
                                  "until the client disconnects.",
                   "content": {NDJSON: {"schema": convert_schema(line)}}}
    else:
        success = {"description": "OK", "content": {JSON: {"schema": convert_schema(ok["schema"])}}}
    out["responses"] = {
        "200": success,
        "default": {"description": "An error (google.rpc.Status); the HTTP status follows "
                                   "its code.", "content": {JSON: {"schema": ref("ApiError")}}},
    }
    if op_id in public:
        out["security"] = []
    return out


def used_schemas(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """Names reachable from the operations (the public surface)."""
    seen: set[str] = set()
    todo = [paths]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str):
                name = target.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    todo.append(schemas[name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return seen


def status_schema() -> dict[str, Any]:
    return {
        "description": "An error: the gRPC status the service returned.",
        "type": "object",
        "required": ["code", "status", "message"],
        "properties": {
            "code": {"type": "integer", "format": "int32",
                     "description": "The google.rpc.Code number (3 = INVALID_ARGUMENT)."},
            "status": ref("Code") | {"description": "The name of `code`."},
            "message": {"type": "string", "description": "For developers, in English."},
            "details": {"type": "array", "items": ref("ErrorDetail"),
                        "description": "google.rpc error details, e.g. a "
                                       "type.googleapis.com/google.rpc.BadRequest with "
                                       "fieldViolations [{field, description}]."},
        },
    }


def convert(v2: dict[str, Any], public: set[str], streams: set[str],
            events: set[str]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, item in sorted(v2["paths"].items()):
        paths[path] = {verb: convert_operation(op, public, streams, events)
                       for verb, op in sorted(item.items())}
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    if len(ids) != len(set(ids)):
        raise SystemExit(f"openapi3: two RPCs share a method name: {sorted(ids)}")
    schemas = {RENAMES.get(n, n): convert_schema(s) for n, s in v2["definitions"].items()}
    schemas["ApiError"] = status_schema()
    schemas["Code"] = {"type": "string", "enum": CODE_NAMES,
                       "description": "google.rpc.Code names, the `status` of an error."}
    clashes = sorted((set(schemas) & RESERVED) | {n for n in schemas if "." in n})
    if clashes:
        raise SystemExit(f"openapi3: schema names clash with builtins: {clashes}; "
                         "add them to RENAMES")
    keep = used_schemas(paths, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": "twitter-mesh REST API", "version": "v1", "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "The edge that serves this document"}],
        "tags": [{"name": t["name"]} for t in v2.get("tags", [])],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "The accessToken of POST /v1/users or /v1/auth/login."}},
            "schemas": {n: schemas[n] for n in sorted(keep)},
        },
    }


def main() -> None:
    swagger, descriptor_set, out = map(Path, sys.argv[1:4])
    public, streams, events = methods(descriptor_set)
    doc = convert(json.loads(swagger.read_text()), public, streams, events)
    out.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
