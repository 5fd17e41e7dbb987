"""Fixtures of the e2e tests: clients of the edge from addresses of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.edge import FromIp


@pytest.fixture
async def from_ip(edge_url: str) -> AsyncIterator[FromIp]:
    """Makes clients that connect from a given loopback address (rate limits
    count per address; 127.0.0.1 is exempt locally)."""
    clients: list[httpx.AsyncClient] = []

    def make(ip: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=edge_url, timeout=30,
                                   transport=httpx.AsyncHTTPTransport(local_address=ip))
        clients.append(client)
        return client

    yield make
    for c in clients:
        await c.aclose()
