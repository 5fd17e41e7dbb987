"""The local edge runs one Envoy worker thread unless EDGE_CONCURRENCY says
otherwise (stack/run/envoy.sh): on a machine whose cores every service shares,
a worker per core only contends with the single-threaded services Envoy calls
(docs/CAPACITY.md, fourth pass)."""

from __future__ import annotations

import os

import httpx
import pytest

from stack import topology

pytestmark = pytest.mark.e2e


async def test_the_local_edge_runs_the_workers_it_is_told_to(
        stack_env: dict[str, str]) -> None:
    admin = topology.load().ports["ENVOY_ADMIN_PORT"]
    async with httpx.AsyncClient() as client:
        info = (await client.get(f"http://127.0.0.1:{admin}/server_info")).json()
    assert info["command_line_options"]["concurrency"] == int(
        os.environ.get("EDGE_CONCURRENCY", "1"))
