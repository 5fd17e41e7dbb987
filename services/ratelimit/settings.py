"""Configuration of the ratelimit service."""

from __future__ import annotations

from pathlib import Path

from services.shared.config import AuthSettings, RedisSettings, ServerSettings
from services.shared.ports import SERVICE_PORTS

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "edge" / "ratelimits.yaml"


class RatelimitSettings(ServerSettings, RedisSettings, AuthSettings):
    service_name: str = "ratelimit"
    grpc_port: int = SERVICE_PORTS["ratelimit"]
    # The limits file and which of its environments applies.
    ratelimit_config: Path = DEFAULT_CONFIG
    ratelimit_environment: str = "local"
    # Redis must answer well within the edge's timeout for the whole check.
    redis_timeout_seconds: float = 0.1
