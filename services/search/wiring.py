"""Builds the backend and clients both search processes (API and indexer) use."""

from __future__ import annotations

from services.search.backend import SearchBackend
from services.search.meili_backend import MeilisearchBackend
from services.search.pg_backend import PostgresBackend
from services.search.settings import SearchSettings
from services.shared.stores.postgres import open_pool


async def backend_for(settings: SearchSettings) -> SearchBackend:
    if settings.meilisearch_url:
        key = settings.meilisearch_api_key.get_secret_value() \
            if settings.meilisearch_api_key else None
        meili = MeilisearchBackend(settings.meilisearch_url, key,
                                   prefix=settings.meilisearch_index_prefix)
        await meili.setup()
        return meili
    return PostgresBackend(await open_pool(settings, "search"))
