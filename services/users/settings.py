"""Configuration of the users service."""

from __future__ import annotations

from pathlib import Path

from services.shared.config import (
    AuthSettings,
    NatsSettings,
    PeerAddresses,
    PostgresSettings,
    RedisSettings,
    ServerSettings,
    WorkerLeaseSettings,
)
from services.shared.ports import SERVICE_PORTS


class UsersSettings(ServerSettings, PostgresSettings, NatsSettings, AuthSettings,
                    WorkerLeaseSettings, RedisSettings, PeerAddresses):
    service_name: str = "users"
    grpc_port: int = SERVICE_PORTS["users"]
    auth_keys_dir: Path = Path(".data/keys")
    # A new key signs only this long after its kid's time, so every cached JWKS
    # (Envoy refreshes every 60 s) has it first. Production: a few minutes.
    auth_key_activation_seconds: float = 0.0
    auth_keys_reload_seconds: float = 30.0
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_days: int = 30
    # argon2id cost (RFC 9106 "low memory" profile by default).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    password_hash_threads: int = 2
    # Login throttle: after this many failures from one source an account (or
    # unknown name) locks for that source, doubling each time; after
    # login_account_free_attempts from all sources together, for everyone
    # (services/users/login_throttle.py).
    login_free_attempts: int = 5
    login_account_free_attempts: int = 100
    login_lock_base_seconds: float = 30.0
    login_lock_max_seconds: float = 900.0
    login_failure_reset_seconds: float = 3600.0
    # How often stale login_failures rows are deleted.
    login_failure_purge_seconds: float = 600.0
    # Retention: how often expired sessions and refresh tokens are purged, and
    # how long a revoked session is kept (past any access token it issued).
    session_purge_interval_seconds: float = 600.0
    revoked_session_retention_seconds: float = 86_400.0
