"""Configuration of the search service and its indexer."""

from __future__ import annotations

from pydantic import SecretStr

from services.shared.config import (
    AuthSettings,
    NatsSettings,
    PeerAddresses,
    PostgresSettings,
    RedisSettings,
    ServerSettings,
)
from services.shared.ports import SERVICE_PORTS


class SearchSettings(ServerSettings, PostgresSettings, RedisSettings, NatsSettings,
                     AuthSettings, PeerAddresses):
    service_name: str = "search"
    grpc_port: int = SERVICE_PORTS["search"]
    # Set: the Meilisearch backend; unset: PostgreSQL full-text search.
    meilisearch_url: str | None = None
    meilisearch_api_key: SecretStr | None = None
    # Prepended to the index names: several deployments (or test runs) on one server.
    meilisearch_index_prefix: str = ""
    trends_window_minutes: int = 60
    # How long the indexer gathers events into one write.
    index_batch_seconds: float = 0.2
    index_concurrency: int = 256
