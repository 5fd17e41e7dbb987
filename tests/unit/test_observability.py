"""Tracing and probes without a stack: statement families, trace ids in log
lines, the worker's readiness endpoint, the edge's tracer and the span tree."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from edge import render
from services.shared.messaging import consumer
from services.shared.observability import probe_http
from services.shared.observability.logging import configure_logging, get_logger
from services.shared.observability.telemetry import statement_family
from stack import trace


@pytest.mark.parametrize(("query", "family"), [
    ("SELECT * FROM tweets WHERE tweet_id = ?", "SELECT tweets"),
    ("insert into twitter.tweets_outbox (shard) values (?)", "INSERT tweets_outbox"),
    ("UPDATE users SET bio = %s WHERE id = %s", "UPDATE users"),
    ("DELETE FROM tweets_outbox WHERE shard = ?", "DELETE tweets_outbox"),
    ('SELECT count(*) FROM "outbox"', "SELECT outbox"),
    ("SELECT pg_notify(%s, '')", "SELECT"),
    ("", "ping"),
])
def test_statement_family_is_verb_and_table_never_literals(query: str, family: str) -> None:
    assert statement_family(query) == family


def test_log_lines_carry_the_trace_and_span_of_their_span() -> None:
    out = io.StringIO()
    configure_logging("test", stream=out)
    log = get_logger("obs-test")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        log.info("inside")
    log.info("outside")
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines()[-2:])
    ctx = span.get_span_context()
    assert inside["trace_id"] == format(ctx.trace_id, "032x")
    assert inside["span_id"] == format(ctx.span_id, "016x")
    assert "trace_id" not in outside


def _get(app: Any, path: str) -> tuple[str, bytes]:
    seen: list[str] = []
    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": ""},
                        lambda status, _headers: seen.append(status)))
    return seen[0], body


def test_readiness_is_the_consumers_health() -> None:
    connected = [True]
    health = consumer.Health(lambda: connected[0], stall_seconds=60)
    app = probe_http.app(health.ready)
    assert _get(app, "/readyz")[0].startswith("503")  # no consumer yet
    health.beat("timeline-tweets")
    assert _get(app, "/readyz")[0].startswith("200")
    connected[0] = False
    status, body = _get(app, "/readyz")
    assert status.startswith("503")
    assert b"not connected" in body
    assert _get(app, "/livez")[0].startswith("200")
    assert b"consumer_ready 0.0" in _get(app, "/metrics")[1]


def test_a_stalled_consumer_is_not_ready() -> None:
    health = consumer.Health(lambda: True, stall_seconds=0.0)
    health.beat("search-indexer")
    ok, reason = health.ready()
    assert not ok
    assert "stalled: search-indexer" in reason


def test_the_edge_traces_only_with_an_otlp_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"INTERNAL_TOKEN": "x" * 40}
    plain = render.render(render.options_from_env(env, port=8080))
    assert "tracing" not in plain["static_resources"]["listeners"][0]["filter_chains"][0][
        "filters"][0]["typed_config"]
    traced = render.render(render.options_from_env(env | {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:24317",
        "EDGE_TRACE_SAMPLING_PERCENT": "10", "ENVOY_METRICS_PORT": "9902"}, port=8080))
    hcm = traced["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"]
    assert hcm["tracing"]["random_sampling"] == {"value": 10.0}
    clusters = {c["name"]: c for c in traced["static_resources"]["clusters"]}
    endpoint = clusters[render.OTLP_CLUSTER]["load_assignment"]["endpoints"][0][
        "lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert endpoint == {"address": "127.0.0.1", "port_value": 24317}
    assert [li["name"] for li in traced["static_resources"]["listeners"]] == ["edge", "metrics"]
    routes_ = hcm["route_config"]["virtual_hosts"][0]["routes"]
    assert any(r.get("decorator", {}).get("operation") == "POST /v1/tweets" for r in routes_)


def _jaeger_span(span_id: str, parent: str | None, process: str, name: str,
                 start: int, took: int) -> dict[str, Any]:
    refs = [{"refType": "CHILD_OF", "traceID": "t1", "spanID": parent}] if parent else []
    return {"traceID": "t1", "spanID": span_id, "operationName": name, "references": refs,
            "startTime": start, "duration": took, "tags": [], "processID": process}


def test_the_span_tree_reads_like_the_request() -> None:
    data = {"traceID": "t1", "processes": {"p1": {"serviceName": "edge"},
                                           "p2": {"serviceName": "tweets"},
                                           "p3": {"serviceName": "timeline-worker"}},
            "spans": [_jaeger_span("c", "b", "p2", "publish twitter.tweet.created", 1_500, 300),
                      _jaeger_span("a", None, "p1", "POST /v1/tweets", 1_000, 2_000),
                      _jaeger_span("d", "c", "p3", "timeline-tweets twitter.tweet.created",
                                   2_500, 800),
                      _jaeger_span("b", "a", "p2", "/twitter.tweets.v1.TweetService/CreateTweet",
                                   1_100, 1_500)]}
    text = trace.render(data)
    lines = text.splitlines()
    assert lines[0].startswith("trace t1  POST /v1/tweets  2.3 ms, 4 spans, 3 services")
    assert lines[2].endswith("edge: POST /v1/tweets")
    assert lines[3].endswith("  tweets: /twitter.tweets.v1.TweetService/CreateTweet")
    assert lines[5].endswith("      timeline-worker: timeline-tweets twitter.tweet.created")
    root = trace.roots(trace.spans(data))
    assert [s.span_id for s in trace.descendants(root[0])] == ["b", "c", "d"]
