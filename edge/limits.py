"""Rate limiting at the edge, split by cost (issue 21):

- reads (GET) meet only Envoy's local rate limit filter: a token bucket per
  client address inside each Envoy, no call out;
- writes (every other RPC with an HTTP route) are checked by the global
  service (services/ratelimit, Redis), which alone can count per user, per
  account and across Envoy replicas.

Both take their limits from edge/ratelimits.yaml: the root `remote_address`
entry is the per-address limit of reads here and of writes there.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from services.ratelimit.rules import Limit, Rules, load

TYPE = "type.googleapis.com/"
RATELIMITS = Path(__file__).resolve().parent / "ratelimits.yaml"
LOCAL_STAT_PREFIX = "reads_per_address"
# Distinct client addresses with a bucket of their own in each Envoy; the least
# recently used is dropped beyond it (and starts again with a full bucket).
MAX_ADDRESSES = 100_000
MIN_FILL_MS = 50  # Envoy's lower bound for a token bucket's fill interval
EXEMPT_TOKENS = 1_000_000_000  # an exempt address: a bucket it cannot drain
# Set (by edge/rpc_checks.lua) on writes only, so a 429 without it is the
# local limiter's.
WRITE_HEADER = "x-rl-op"


def rules(env: dict[str, str]) -> Rules:
    """The same file and environment the ratelimit service reads."""
    return load(Path(env.get("RATELIMIT_CONFIG") or RATELIMITS),
                env.get("RATELIMIT_ENVIRONMENT") or "local")


def per_address(rules: Rules) -> tuple[Limit, list[str]]:
    """The per-address limit and the exempt addresses of this environment."""
    match = rules.match([("remote_address", "")])
    if match is None:
        raise ValueError("edge/ratelimits.yaml needs a root remote_address limit")
    exempt = sorted(v for k, v in rules.exempt if k == "remote_address" and v)
    return match.limit, exempt


def token_bucket(limit: Limit) -> dict[str, Any]:
    """`limit` per unit, refilled evenly (one token every unit/limit, or more
    per fill when that is under Envoy's 50 ms), holding at most `limit`."""
    if limit.requests_per_unit < 1:
        raise ValueError(f"{limit.name}: a local limit needs at least one request per unit")
    window_ms = limit.window_seconds * 1000
    per_fill = max(1, math.ceil(limit.requests_per_unit * MIN_FILL_MS / window_ms))
    fill_ms = max(MIN_FILL_MS, round(window_ms * per_fill / limit.requests_per_unit))
    return {"max_tokens": limit.requests_per_unit, "tokens_per_fill": per_fill,
            "fill_interval": f"{fill_ms / 1000:.3f}s"}


def retry_after(limit: Limit) -> int:
    """Seconds until a drained bucket holds a token again (one fill), at least 1."""
    fill = float(token_bucket(limit)["fill_interval"].removesuffix("s"))
    return max(1, math.ceil(fill))


def _always(runtime_key: str) -> dict[str, Any]:
    return {"default_value": {"numerator": 100, "denominator": "HUNDRED"},
            "runtime_key": runtime_key}


def local_ratelimit_filter(limit: Limit, exempt: list[str]) -> dict[str, Any]:
    """Per client address, GET requests only (writes go to the global service),
    /healthz excluded. A request matching no descriptor is not limited."""
    read = {"descriptor_key": "read", "descriptor_value": "1", "headers": [
        {"name": ":method", "string_match": {"exact": "GET"}},
        {"name": ":path", "string_match": {"exact": "/healthz"}, "invert_match": True}]}
    descriptors = [{"entries": [{"key": "read", "value": "1"},
                                {"key": "remote_address", "value": ip}],
                    "token_bucket": {"max_tokens": EXEMPT_TOKENS,
                                     "tokens_per_fill": EXEMPT_TOKENS, "fill_interval": "1s"}}
                   for ip in exempt]
    # An entry without a value: one bucket per distinct address (dynamic descriptors).
    descriptors.append({"entries": [{"key": "read", "value": "1"}, {"key": "remote_address"}],
                        "token_bucket": token_bucket(limit)})
    return {"name": "envoy.filters.http.local_ratelimit", "typed_config": {
        "@type": f"{TYPE}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        "stat_prefix": LOCAL_STAT_PREFIX,
        "filter_enabled": _always("edge.local_ratelimit.enabled"),
        "filter_enforced": _always("edge.local_ratelimit.enforced"),
        "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
        "always_consume_default_token_bucket": False,
        "max_dynamic_descriptors": MAX_ADDRESSES,
        "response_headers_to_add": [{"header": {"key": "retry-after",
                                                "value": str(retry_after(limit))}}],
        "descriptors": descriptors,
        "rate_limits": [{"actions": [{"header_value_match": read}, {"remote_address": {}}]}],
    }}


def local_429_mapper(limit: Limit, body: Any) -> dict[str, Any]:
    """The local limiter's 429 says which limit it was, as the global one's do."""
    return {
        "filter": {"and_filter": {"filters": [
            {"status_code_filter": {"comparison": {"op": "EQ", "value": {
                "default_value": 429, "runtime_key": "edge.local_reply.local_429"}}}},
            {"header_filter": {"header": {"name": WRITE_HEADER, "present_match": True,
                                          "invert_match": True}}},
        ]}},
        "body_format_override": body(8, f"rate limit exceeded: {limit.describe()}"),
    }


def skip_filter(inner: dict[str, Any], matcher: dict[str, Any]) -> dict[str, Any]:
    """Wraps an HTTP filter so that requests `matcher` selects skip it."""
    return {"name": inner["name"], "typed_config": {
        "@type": f"{TYPE}envoy.extensions.common.matching.v3.ExtensionWithMatcher",
        "extension_config": inner,
        "xds_matcher": {"matcher_list": {"matchers": [{"predicate": matcher, "on_match": {
            "action": {"name": "skip", "typed_config": {
                "@type": f"{TYPE}envoy.extensions.filters.common.matcher.action.v3.SkipFilter",
            }}}}]}},
    }}


def header_is(name: str, value: str, *, response: bool = False) -> dict[str, Any]:
    kind = "HttpResponseHeaderMatchInput" if response else "HttpRequestHeaderMatchInput"
    return {"single_predicate": {
        "input": {"name": name, "typed_config": {
            "@type": f"{TYPE}envoy.type.matcher.v3.{kind}", "header_name": name}},
        "value_match": {"exact": value} if value
        else {"safe_regex": {"google_re2": {}, "regex": ".*"}}}}


def header_matches(name: str, regex: str, *, response: bool = False) -> dict[str, Any]:
    predicate = header_is(name, "", response=response)
    predicate["single_predicate"]["value_match"] = {
        "safe_regex": {"google_re2": {}, "regex": regex}}
    return predicate


def not_(predicate: dict[str, Any]) -> dict[str, Any]:
    return {"not_matcher": predicate}

