"""The edge's service routes and the per-RPC checks, keyed on the RPC Envoy
actually calls, never on the text of the path (issue 22).

Why: Envoy's gRPC-JSON transcoder resolves more spellings of a path than its
template ("/v1/tweets/", "/v1/tweets//", "/v1/tweets/."), binds query
parameters even on `body: "*"` routes, and passes a plain gRPC request through
untouched. Checks that match path text (as the Lua filters once did) miss
every such spelling, and a gRPC request skipped them all.

How: the transcoder runs before every filter that needs to know the RPC. It
rewrites :path to the RPC (/pkg.Service/Method), keeps what the client sent in
x-envoy-original-path and x-envoy-original-method, and clears the route cache,
so routing happens on the RPC. Each HTTP binding of an exposed RPC has one
route: the RPC's path *and* the binding's canonical form of those two headers
(`^/v1/users/[^/?#]+/follow$`). Anything else finds no route and is 404:
another spelling of the path, a plain gRPC call (it has no original path; the
edge strips client-sent x-envoy-original-* headers first), an RPC without an
HTTP binding. A query string on a `body: "*"` route is a 400 of its own route:
every field of such a request belongs in the body. What runs after the
transcoder (edge/rpc_checks.lua: strict JSON and the rate-limit op; the global
rate limits of the route) therefore sees the one RPC that will be called.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2

from services.shared.contracts import Access, options_access

ORIGINAL_PATH = "x-envoy-original-path"
ORIGINAL_METHOD = "x-envoy-original-method"
# A write RPC whose limit depends on a field of its request: (field, op when
# that field is non-zero). A reply is CreateTweet with reply_to_tweet_id.
OP_VARIANTS = {"CreateTweet": ("reply_to_tweet_id", "CreateReply")}
QUERY_ON_BODY_ROUTE = ("query parameters are not accepted on this route:"
                       " send every field in the JSON body")
_VARIABLE = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Binding:
    """One HTTP binding (google.api.http rule) of an RPC."""

    area: str  # "users": the cluster
    rpc: str  # "/twitter.users.v1.UserService/FollowUser"
    verb: str  # "POST"
    template: str  # "/v1/users/{user_id}/follow"
    body: str  # "*", "" (none) or the request field the body fills
    json_keys: frozenset[str]  # the top-level keys a JSON body may have
    public: bool = False  # ACCESS_PUBLIC: served without a token
    # A server stream: "ndjson" (typed messages the transcoder prints one per
    # line) or "sse" (HttpBody chunks of text/event-stream, passed through);
    # "" for a unary RPC.
    stream: str = ""

    @property
    def method(self) -> str:
        return self.rpc.rsplit("/", 1)[1]

    @property
    def is_write(self) -> bool:
        return self.verb != "GET"

    def path_regex(self) -> str:
        """RE2 for the client's path (x-envoy-original-path, query included):
        the template with one segment per variable, nothing else."""
        parts = _VARIABLE.split(self.template)
        path = "[^/?#]+".join(re.escape(p) for p in parts)
        query = "" if self.body == "*" else r"(\?.*)?"
        return f"^{path}{query}$"


def _rules(rule: http_pb2.HttpRule) -> Iterator[http_pb2.HttpRule]:
    yield rule
    yield from rule.additional_bindings


def bindings(areas: list[str], descriptor_path: Path) -> list[Binding]:
    """Every HTTP binding of the RPCs of `areas`, from the descriptor set."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    messages = {f".{f.package}.{m.name}": m for f in files.file for m in f.message_type}
    found = []
    for f in files.file:
        area = f.package.split(".")[1] if f.package.startswith("twitter.") else ""
        if area not in areas:
            continue
        for service in f.service:
            for method in service.method:
                # An RPC without an access option, or an internal one with an
                # HTTP binding, is a contract error: no edge is rendered.
                public = options_access(f"/{f.package}.{service.name}/{method.name}",
                                        method.options) is Access.PUBLIC
                top = method.options.Extensions[annotations_pb2.http]
                for rule in _rules(top):
                    verb = rule.WhichOneof("pattern")
                    if verb is None or verb == "custom":
                        continue
                    template = getattr(rule, verb)
                    if "*" in template or "=" in template:
                        # Only single-segment variables have a canonical form here.
                        raise ValueError(f"{method.name}: unsupported path template {template}")
                    request = messages[method.input_type]
                    stream = "" if not method.server_streaming else (
                        "sse" if rule.response_body else "ndjson")
                    found.append(Binding(
                        area, f"/{f.package}.{service.name}/{method.name}", verb.upper(),
                        template, rule.body, _body_keys(request, rule.body, messages),
                        public, stream))
    return found


def public_matches(found: list[Binding]) -> list[dict[str, Any]]:
    """jwt_authn matches for the bindings of public RPCs: the client's path (the
    filter runs before the transcoder, on what the client sent) and method."""
    return [{"safe_regex": {"regex": b.path_regex()},
             "headers": [_header(":method", {"exact": b.verb})]}
            for b in found if b.public]


def _body_keys(request: descriptor_pb2.DescriptorProto, body: str,
               messages: Mapping[str, descriptor_pb2.DescriptorProto]) -> frozenset[str]:
    if not body:
        return frozenset()
    message = request
    if body != "*":
        field = next(fd for fd in request.field if fd.name == body)
        if field.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
            return frozenset()
        message = messages[field.type_name]
    return frozenset(k for fd in message.field for k in (fd.name, fd.json_name))


def field_number(descriptor_path: Path, rpc: str, field: str) -> int:
    """The number of a field of an RPC's request message."""
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    messages = {f".{f.package}.{m.name}": m for f in files.file for m in f.message_type}
    service_name, method_name = rpc.strip("/").split("/")
    for f in files.file:
        for service in f.service:
            if f"{f.package}.{service.name}" != service_name:
                continue
            for method in service.method:
                if method.name == method_name:
                    request = messages[method.input_type]
                    return next(fd.number for fd in request.field if fd.name == field)
    raise KeyError(f"{rpc}: no field {field}")


def _header(name: str, matcher: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "string_match": matcher}


def routes(found: list[Binding], action: Callable[[Binding], dict[str, Any]]
           ) -> list[dict[str, Any]]:
    """A route per binding (the route action from `action`), and for
    `body: "*"` bindings a 400 route for the same path with a query string."""
    out: list[dict[str, Any]] = []
    for b in found:
        method = _header(ORIGINAL_METHOD, {"exact": b.verb})
        out.append({"name": f"{b.method} {b.verb} {b.template}", "match": {
            "path": b.rpc, "headers": [
                method, _header(ORIGINAL_PATH, {"safe_regex": {"regex": b.path_regex()}})]},
            **action(b)})
        if b.body == "*":
            with_query = b.path_regex().removesuffix("$") + r"\?.*$"
            out.append({"name": f"{b.method} {b.verb} {b.template}?", "match": {
                "path": b.rpc, "headers": [
                    method, _header(ORIGINAL_PATH, {"safe_regex": {"regex": with_query}})]},
                "direct_response": {"status": 400,
                                    "body": {"inline_string": QUERY_ON_BODY_ROUTE}}})
    return out


def lua_str(value: str) -> str:
    """A Lua string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def checks_lua(found: list[Binding], descriptor_path: Path) -> str:
    """edge/rpc_checks.lua with its table of write RPCs prepended: the op they
    are limited as, the JSON keys their body may have, an op variant."""
    writes: dict[str, set[str]] = {}
    for b in found:
        if b.is_write:
            # An RPC with several bindings: a key any of its bodies takes.
            writes.setdefault(b.rpc, set()).update(b.json_keys)
    rows = []
    for rpc, keys in sorted(writes.items()):
        method = rpc.rsplit("/", 1)[1]
        allowed = ", ".join(f"[{lua_str(k)}] = true" for k in sorted(keys))
        fields = [f"op = {lua_str(method)}", f"keys = {{{allowed}}}"]
        if method in OP_VARIANTS:
            field, op = OP_VARIANTS[method]
            fields += [f"variant_field = {field_number(descriptor_path, rpc, field)}",
                       f"variant_op = {lua_str(op)}"]
        rows.append(f"  [{lua_str(rpc)}] = {{{', '.join(fields)}}},")
    script = (Path(__file__).parent / "rpc_checks.lua").read_text()
    return "RPCS = {\n" + "\n".join(rows) + "\n}\n\n" + script
