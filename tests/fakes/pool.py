"""A PostgreSQL pool that must not be used: for the checks a service layer
makes before it touches its store (who may act, what input is valid). A test
over it proves the refusal came first, with nothing read or written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool


class UntouchedPool(AsyncConnectionPool):
    def __init__(self) -> None:  # no server: connecting at all fails the test
        self.asked = 0

    @asynccontextmanager
    async def connection(self, timeout: float | None = None  # noqa: ASYNC109 - its signature
                         ) -> AsyncIterator[AsyncConnection[Any]]:
        self.asked += 1
        raise AssertionError("the store was reached before the request was refused")
        yield  # an async generator, as the real one is  # type: ignore[unreachable]
