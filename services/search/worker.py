"""The search indexer process: `python -m services.search.worker`.

Replicas share one durable consumer over all events; a new deployment starts
from the stream's retained history, so the index fills itself."""

from __future__ import annotations

from services.search import wiring
from services.search.settings import SearchSettings
from services.shared.messaging import worker
from services.shared.messaging.consumer import ConsumerSpec, Handlers


async def main() -> None:
    settings = SearchSettings(service_name="search-indexer")

    async def build() -> worker.Worker:
        service = await wiring.build_indexer(settings)
        on = service.indexer.register(Handlers())
        spec = ConsumerSpec("search-indexer", on.filter_subject, on,
                            concurrency=settings.index_concurrency, from_start=True)
        return worker.Worker([spec], on_stop=[service.close])

    await worker.run(settings, build)


if __name__ == "__main__":
    worker.serve(main)
