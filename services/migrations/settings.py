"""What the migrations connect to: the same variables the services read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.shared.config import PostgresSettings, S3Settings, ScyllaSettings


class MigrationSettings(PostgresSettings, ScyllaSettings, S3Settings):
    log_level: str = "INFO"

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> MigrationSettings:
        """From a contract such as the local stack's (`python -m stack env`)
        rather than the process environment; keys it lacks fall back as usual."""
        values: dict[str, Any] = {k.lower(): v for k, v in env.items()
                                  if k.lower() in cls.model_fields}
        return cls(**values)
