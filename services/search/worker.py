"""The search indexer process: `python -m services.search.worker`.

Replicas share one durable consumer over all events; a new deployment starts
from the stream's retained history, so the index fills itself."""

from __future__ import annotations

import asyncio

from prometheus_client import start_http_server

from services.search.indexer import Indexer
from services.search.settings import SearchSettings
from services.search.trends import Trends
from services.search.wiring import backend_for
from services.shared import consumer, redis_client
from services.shared import events as jetstream
from services.shared.consumer import ConsumerSpec
from services.shared.logging import configure_logging, get_logger
from services.shared.telemetry import configure_tracing

log = get_logger(__name__)


async def main() -> None:
    settings = SearchSettings(service_name="search-indexer")
    configure_logging(settings.service_name, settings.log_level, json=settings.log_json)
    configure_tracing(settings.service_name)
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.grpc_host)
    redis = redis_client.connect(settings.redis_url)
    backend = await backend_for(settings)
    indexer = Indexer(backend, Trends(redis, window_minutes=settings.trends_window_minutes),
                      max_delay=settings.index_batch_seconds)
    nc, js = await jetstream.connect(settings.nats_url, name=settings.service_name)
    await jetstream.ensure_stream(js)
    spec = ConsumerSpec("search-indexer", "twitter.>", indexer.handlers(),
                        concurrency=settings.index_concurrency, from_start=True)
    await consumer.serve_consumers(js, [spec])
    await nc.drain()
    await backend.close()
    await redis.aclose()
    log.info("indexer stopped")


if __name__ == "__main__":
    asyncio.run(main())
