"""A short schemathesis run against the edge: requests generated from the
checked-in OpenAPI document, with a valid bearer token, must never get a 5xx.

Bounded: a few examples per operation and a time budget for the whole run.
Routes of services that are not running yet answer 404, which is fine here.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.support.users import MakeAccount

pytestmark = pytest.mark.e2e

OPENAPI = Path(__file__).resolve().parents[2] / "generated" / "openapi" / "twitter.json"
EXAMPLES_PER_OPERATION = 10
BUDGET_SECONDS = 25.0
# How the OpenAPI document marks a server stream: NDJSON, Server-Sent Events.
STREAMING = ("application/x-ndjson", "text/event-stream")


async def test_no_server_errors(edge_url: str, make_account: MakeAccount) -> None:
    account = await make_account("st")
    schema = schemathesis.openapi.from_path(OPENAPI)
    deadline = time.monotonic() + BUDGET_SECONDS
    failures: list[str] = []
    calls = 0

    def check(case: Any) -> None:
        nonlocal calls
        if time.monotonic() > deadline:
            return
        calls += 1
        responses = str(case.operation.definition.raw.get("responses", ""))
        if any(kind in responses for kind in STREAMING):
            # A live stream never ends: its status is all there is to check.
            with requests.request(**case.as_transport_kwargs(
                    base_url=edge_url, headers=account.bearer), timeout=10,
                    stream=True) as streamed:
                status, text = streamed.status_code, f"(stream, {streamed.reason})"
        else:
            response = case.call(base_url=edge_url, headers=account.bearer, timeout=10)
            status, text = response.status_code, response.text[:200]
        if status >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {status} {text}")

    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]
        run = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                       phases=[Phase.generate], derandomize=True,
                       suppress_health_check=list(HealthCheck))(
            given(case=operation.as_strategy())(check))
        run()
    assert calls > 30, calls  # the run did exercise the API
    assert not failures, "\n".join(failures)
