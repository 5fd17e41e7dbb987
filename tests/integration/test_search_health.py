"""The search query process's health follows its index store
(services/shared/resilience/health.py): each backend names what it cannot serve without."""

from __future__ import annotations

import pytest

from services.search.backend import TweetFilter
from services.search.meili.backend import MeilisearchBackend
from services.search.postgres.backend import PostgresBackend
from services.shared import errors
from services.shared.resilience.breaker import State
from services.shared.resilience.health import reachable
from services.shared.stores.postgres import GuardedPool
from tests.support.scratch_postgres import free_port


async def test_postgres_backend_requires_its_database(stack_env: dict[str, str]) -> None:
    up = GuardedPool(stack_env["PG_DSN"], name="search-health", min_size=1, max_size=2)
    await up.open(wait=True)
    try:
        required = PostgresBackend(up).required()
        assert required.breaker is up.breaker
        assert await reachable(required)
    finally:
        await up.close()


async def test_an_unreachable_meilisearch_is_reported_and_then_refused_fast() -> None:
    nobody = free_port()  # bound, then released: nothing listens on it
    backend = MeilisearchBackend(f"http://127.0.0.1:{nobody}", "key")
    required = backend.required()
    try:
        assert not await reachable(required)
        for _ in range(3):
            with pytest.raises(errors.Unavailable):
                await backend.search_tweets(TweetFilter(text="x"), None, 10)
        # The breaker is open: the process reports NOT_SERVING (health.watch)
        # and searches fail at once instead of waiting on a dead server.
        assert required.breaker.state is State.OPEN
    finally:
        await backend.close()
