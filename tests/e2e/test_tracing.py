"""One trace covers a tweet from the edge to the fanout worker (issue 17),
asserted through the trace backend's query API (Jaeger, started by the stack)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from twitter.tweets.v1 import events_pb2

from services.shared.contracts import subject
from stack.trace import Jaeger, Span, descendants, roots, spans
from tests.support.users import MakeAccount

WITHIN_SECONDS = 15.0

CREATED = subject(events_pb2.TweetCreated)


def _missing(trace: dict[str, Any]) -> list[str]:
    """What the trace still lacks, below the edge's span."""
    top = [s for s in roots(spans(trace)) if s.service == "edge"]
    if not top:
        return ["the edge's span as the root"]
    below = descendants(top[0])

    def has(service: str, test: Any) -> bool:
        return any(s.service == service and test(s) for s in below)

    wanted = {
        "the tweets RPC": has("tweets", lambda s: s.operation.endswith("/CreateTweet")),
        "a CQL write": has("tweets", lambda s: s.operation.startswith(
            ("cassandra INSERT", "cassandra BATCH", "cassandra UPDATE"))),
        "the JetStream publish": has("tweets", lambda s: s.operation
                                     == f"publish {CREATED}"),
        "the fanout worker's span": has("timeline-worker", lambda s: s.operation.endswith(
            CREATED)),
        "the indexer's span": has("search-indexer", lambda s: s.operation.endswith(
            CREATED)),
    }
    return [name for name, found in wanted.items() if not found]


def _parent_chain(span: Span, by_id: dict[str, Span]) -> list[str]:
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(f"{span.service}: {span.operation}")
    return chain


async def test_a_tweet_is_one_trace_from_the_edge_to_the_fanout_worker(
        edge: httpx.AsyncClient, make_account: MakeAccount, stack_env: dict[str, str]) -> None:
    author = await make_account("tr")
    reply = await edge.post("/v1/tweets", json={"content": "traced #observability"},
                            headers=author.bearer)
    assert reply.status_code == 200, reply.text
    request_id = reply.headers["x-request-id"]  # the edge's, sent to every service

    jaeger = Jaeger(stack_env["JAEGER_URL"])
    try:
        deadline = time.monotonic() + WITHIN_SECONDS
        while True:
            trace = await asyncio.to_thread(jaeger.find, request_id)
            missing = ["any trace"] if trace is None else _missing(trace)
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.3)
    finally:
        jaeger.close()
    assert not missing, f"trace of {request_id} lacks {missing}"
    assert trace is not None
    # The worker's span hangs below the publish, which hangs below the RPC.
    all_spans = spans(trace)
    by_id = {s.span_id: s for s in all_spans}
    fanout = next(s for s in all_spans if s.service == "timeline-worker")
    chain = _parent_chain(fanout, by_id)
    assert chain[0] == "tweets: publish twitter.tweet.created", chain
    assert any(c.endswith("/CreateTweet") for c in chain), chain
    assert chain[-1].startswith("edge: POST /v1/tweets"), chain


async def test_the_latest_trace_is_a_client_request_not_the_edge_fetching_its_jwks(
        edge: httpx.AsyncClient, make_account: MakeAccount,
        stack_env: dict[str, str]) -> None:
    """`make trace` without an id: the edge's own JWKS fetches (every few
    minutes, through its own route) must not hide the latest client request."""
    alice = await make_account()
    response = await edge.get(f"/v1/users/{alice.user_id}", headers=alice.bearer)
    request_id = response.headers["x-request-id"]
    jaeger = Jaeger(stack_env["JAEGER_URL"])
    try:
        assert await asyncio.to_thread(jaeger.wait_for, request_id, within=WITHIN_SECONDS)
        # Now a JWKS fetch, the kind of request the edge makes to itself.
        fetched = await edge.get("/.well-known/jwks.json")
        jwks = await asyncio.to_thread(jaeger.wait_for, fetched.headers["x-request-id"],
                                       within=WITHIN_SECONDS)
        assert jwks, "the JWKS fetch was not traced"
        latest = await asyncio.to_thread(jaeger.find, None)
    finally:
        jaeger.close()
    assert latest is not None
    operations = [s.operation for s in roots(spans(latest))]
    assert "GET /.well-known/jwks.json" not in operations, operations
