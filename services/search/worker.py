"""The search indexer process: `python -m services.search.worker`.

Replicas share one durable consumer over all events; a new deployment starts
from the stream's retained history, so the index fills itself."""

from __future__ import annotations

import asyncio

from services.search.indexer import Indexer
from services.search.settings import SearchSettings
from services.search.trends import Trends
from services.search.wiring import backend_for
from services.shared.contracts import subject_filter
from services.shared.messaging import worker
from services.shared.messaging.consumer import ConsumerSpec
from services.shared.stores import redis_client


async def main() -> None:
    settings = SearchSettings(service_name="search-indexer")

    async def build() -> worker.Worker:
        redis = redis_client.connect(settings.redis_url)
        backend = await backend_for(settings)
        indexer = Indexer(backend, Trends(redis, window_minutes=settings.trends_window_minutes),
                          max_delay=settings.index_batch_seconds)
        handlers = indexer.handlers()
        spec = ConsumerSpec("search-indexer", subject_filter(handlers), handlers,
                            concurrency=settings.index_concurrency, from_start=True)
        return worker.Worker([spec], on_stop=[backend.close, redis.aclose])

    await worker.run(settings, build)


if __name__ == "__main__":
    asyncio.run(main())
