"""`python -m stack trace [REQUEST_ID]` (make trace ID=...): the span tree of the
most recent request with that x-request-id (without one: the most recent
request the edge traced), read from Jaeger's query API, so a person can see
where the time went.

    trace 5f0c...  POST /v1/tweets  31.2 ms, 14 spans, 4 services
       start   took  service          operation
      +0.0ms  31.2ms edge             POST /v1/tweets
      +0.9ms  28.4ms  tweets          /twitter.tweets.v1.TweetService/CreateTweet
      +1.3ms   2.1ms   tweets         cassandra INSERT tweets_outbox_intents
      ...
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

EDGE_SERVICE = "edge"
REQUEST_ID_TAG = "guid:x-request-id"  # what Envoy's tracer tags its span with
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise here


@dataclass
class Span:
    span_id: str
    parent_id: str | None
    service: str
    operation: str
    start_us: int
    duration_us: int
    tags: dict[str, Any]
    children: list[Span] = field(default_factory=list)

    @property
    def error(self) -> bool:
        return self.tags.get("error") in (True, "true") or \
            self.tags.get("otel.status_code") == "ERROR"


def spans(trace: Mapping[str, Any]) -> list[Span]:
    """A Jaeger trace (query API JSON) as spans, parents linked to children."""
    processes = trace.get("processes", {})
    out: dict[str, Span] = {}
    for raw in trace["spans"]:
        parent = next((r["spanID"] for r in raw.get("references") or []
                       if r.get("refType") == "CHILD_OF"), None)
        out[raw["spanID"]] = Span(
            raw["spanID"], parent, processes.get(raw["processID"], {}).get("serviceName", "?"),
            raw["operationName"], raw["startTime"], raw["duration"],
            {t["key"]: t["value"] for t in raw.get("tags") or []})
    for span in out.values():
        if span.parent_id in out:
            out[span.parent_id].children.append(span)
    for span in out.values():
        span.children.sort(key=lambda s: s.start_us)
    return sorted(out.values(), key=lambda s: s.start_us)


def roots(all_spans: list[Span]) -> list[Span]:
    ids = {s.span_id for s in all_spans}
    return [s for s in all_spans if s.parent_id not in ids]


def descendants(span: Span) -> list[Span]:
    out = []
    for child in span.children:
        out += [child, *descendants(child)]
    return out


def render(trace: Mapping[str, Any]) -> str:
    all_spans = spans(trace)
    if not all_spans:
        return f"trace {trace.get('traceID', '?')}: no spans"
    start = all_spans[0].start_us
    top = roots(all_spans)
    end = max(s.start_us + s.duration_us for s in all_spans)
    services = {s.service for s in all_spans}
    lines = [f"trace {trace['traceID']}  {top[0].operation}  {(end - start) / 1000:.1f} ms, "
             f"{len(all_spans)} spans, {len(services)} services",
             f"{'start':>9} {'took':>8}  service / operation"]

    def walk(span: Span, depth: int) -> None:
        mark = "  ERROR" if span.error else ""
        lines.append(f"{(span.start_us - start) / 1000:>+8.1f}ms {span.duration_us / 1000:>6.1f}ms"
                     f"  {'  ' * depth}{span.service}: {span.operation}{mark}")
        for child in span.children:
            walk(child, depth + 1)

    for root in top:
        walk(root, 0)
    return "\n".join(lines)


# Requests the edge makes to itself (jwt_authn's JWKS fetch), by span name.
EDGE_OWN_OPERATIONS = frozenset({"GET /.well-known/jwks.json"})


def _edge_own_request(trace: Mapping[str, Any]) -> bool:
    return all(s.operation in EDGE_OWN_OPERATIONS for s in roots(spans(trace)))


class Jaeger:
    """The query API of the trace backend (JAEGER_URL)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def find(self, request_id: str | None, service: str = EDGE_SERVICE,
             lookback: str = "2h") -> dict[str, Any] | None:
        """The most recent trace of `service` with that request id (any, without one)."""
        params: dict[str, Any] = {"service": service, "lookback": lookback, "limit": 50}
        if request_id:
            tag = REQUEST_ID_TAG if service == EDGE_SERVICE else "request_id"
            params["tags"] = json.dumps({tag: request_id})
        found = self._http.get("/api/traces", params=params).raise_for_status().json()
        traces = found.get("data") or []
        if not traces and request_id and service == EDGE_SERVICE:
            # Not traced at the edge (sampled out there, or a direct gRPC call):
            # the services tag their spans with the request id too.
            for other in self.services():
                if other != EDGE_SERVICE and (trace := self.find(request_id, other, lookback)):
                    return trace
        if not request_id:
            # The latest *client* request: not the edge fetching its own JWKS.
            traces = [t for t in traces if not _edge_own_request(t)]
        if not traces:
            return None
        latest = max(traces, key=lambda t: min(s["startTime"] for s in t["spans"]))
        return self.get(latest["traceID"])

    def services(self) -> list[str]:
        reply = self._http.get("/api/services").raise_for_status().json()
        return sorted(reply.get("data") or [])

    def get(self, trace_id: str) -> dict[str, Any] | None:
        reply = self._http.get(f"/api/traces/{trace_id}")
        if reply.status_code == httpx.codes.NOT_FOUND:
            return None
        data = reply.raise_for_status().json().get("data") or []
        return data[0] if data else None

    def wait_for(self, request_id: str, *, having: int = 1, within: float = 10.0
                 ) -> dict[str, Any] | None:
        """Polls until the request's trace holds at least `having` spans (spans
        of one trace arrive from each process in its own batches)."""
        deadline = time.monotonic() + within
        trace = None
        while time.monotonic() < deadline:
            trace = self.find(request_id)
            if trace and len(trace["spans"]) >= having:
                return trace
            time.sleep(0.2)
        return trace


def main(jaeger_url: str, request_id: str | None) -> int:
    jaeger = Jaeger(jaeger_url)
    try:
        trace = jaeger.find(request_id)
    except httpx.HTTPError as exc:
        print(f"trace: the trace backend at {jaeger_url} did not answer: {exc}")
        return 1
    finally:
        jaeger.close()
    if trace is None:
        print(f"trace: no trace for request id {request_id!r} at {jaeger_url}"
              if request_id else f"trace: no trace of the edge at {jaeger_url} yet")
        return 1
    print(render(trace))
    # No UI link: the Jaeger built here serves only a placeholder page.
    print(f"trace id {trace['traceID']}: {jaeger_url}/api/traces/{trace['traceID']} (JSON)")
    return 0
