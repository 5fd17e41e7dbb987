"""Settings from the environment, one small class per concern.

Each service composes the pieces it needs; defaults match the local stack
(`python -m stack env` prints the same values), so a service started by hand
next to a running stack needs no configuration.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.shared.ports import INFRA_PORTS, LOCALHOST, service_addr


class _Env(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)


class ServerSettings(_Env):
    """How a gRPC service listens and shuts down."""

    service_name: str = "unknown"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    # When several processes share grpc_port (SO_REUSEPORT), each also listens
    # on a port of its own, so a proxy can balance requests rather than connections.
    grpc_process_port: int = 0
    metrics_port: int = 0
    # Seconds in-flight calls get to finish after SIGTERM before they are cancelled.
    drain_seconds: float = 10.0
    log_level: str = "INFO"
    # JSON logs for production; console rendering is friendlier locally.
    log_json: bool = True


class WorkerLeaseSettings(_Env):
    """Snowflake worker id leases (services/shared/snowflake/worker_lease.py)."""

    # How long a lease lasts unrenewed; it is renewed every third of this.
    worker_lease_ttl_seconds: int = 30
    # A process stops issuing ids this long before its lease could expire in the store.
    worker_lease_margin_seconds: float = 2.0


class PostgresSettings(_Env):
    pg_dsn: SecretStr = SecretStr(
        f"postgresql://twitter:twitter@{LOCALHOST}:{INFRA_PORTS['PG_PORT']}/twitter")
    pg_pool_min: int = 2
    pg_pool_max: int = 16


class RedisSettings(_Env):
    redis_url: str = f"redis://{LOCALHOST}:{INFRA_PORTS['REDIS_PORT']}/0"


class NatsSettings(_Env):
    # One server, or several separated by commas (a cluster: any one will do).
    nats_url: str = f"nats://{LOCALHOST}:{INFRA_PORTS['NATS_PORT']}"
    # The event stream as a service creates it; a start only ever grows an
    # existing stream's replicas and limits (services/shared/messaging/events.py), so an
    # operator's larger values stay. Production: 3 replicas (k8s/base/config.env).
    jetstream_replicas: int = Field(default=1, ge=1, le=5)
    jetstream_max_age_seconds: float = Field(default=7 * 86_400.0, gt=0)
    jetstream_max_bytes: int = Field(default=-1, ge=-1)  # -1: no size limit
    # A worker whose consumer's fetch loop has not come round for this long
    # reports not ready (services/shared/messaging/consumer.py, Health).
    consumer_stall_seconds: float = 30.0


class AuthSettings(_Env):
    """Token verification, shared by every service."""

    jwt_issuer: str = "twitter-mesh"
    jwt_audience: str = "twitter-mesh"
    # Seconds of clock skew tolerated when checking exp/nbf/iat.
    jwt_leeway_seconds: int = 10
    # How long a fetched JWKS is trusted before it is fetched again.
    jwks_cache_seconds: float = 300.0
    # Shared secret that other services present on internal RPCs (a Kubernetes
    # Secret in production; the edge strips the header from client requests).
    # No default: a service without a real one refuses to start (the local
    # stack generates one, `python -m stack env` prints it).
    internal_token: SecretStr = Field(default=SecretStr(""), validate_default=True)

    @field_validator("internal_token")
    @classmethod
    def _real_token(cls, value: SecretStr) -> SecretStr:
        return check_internal_token(value)


# The value every service used to fall back to: known to anyone who read the code.
_KNOWN_TOKENS = frozenset({"local-internal-token"})
MIN_INTERNAL_TOKEN_CHARS = 32


def check_internal_token(value: SecretStr) -> SecretStr:
    """The internal token unless it is missing, short or a published value."""
    token = value.get_secret_value().strip()
    if token in _KNOWN_TOKENS or len(token) < MIN_INTERNAL_TOKEN_CHARS:
        raise ValueError(
            f"INTERNAL_TOKEN must be a random secret of at least {MIN_INTERNAL_TOKEN_CHARS}"
            " characters (e.g. `openssl rand -base64 32`)")
    return SecretStr(token)


class PeerAddresses(_Env):
    """gRPC addresses of the other services (host:port); defaults from the port table."""

    users_addr: str = service_addr("users")
    tweets_addr: str = service_addr("tweets")
    timeline_addr: str = service_addr("timeline")
    search_addr: str = service_addr("search")
    media_addr: str = service_addr("media")
    messages_addr: str = service_addr("messages")
    ratelimit_addr: str = service_addr("ratelimit")
    notifications_addr: str = service_addr("notifications")


class ScyllaSettings(_Env):
    scylla_hosts: str = LOCALHOST
    scylla_port: int = INFRA_PORTS["CASSANDRA_PORT"]
    scylla_keyspace: str = "twitter"
    scylla_replication: str = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    scylla_local_dc: str | None = None
    scylla_compression: bool = False

    @property
    def host_list(self) -> list[str]:
        return [h.strip() for h in self.scylla_hosts.split(",") if h.strip()]


class S3Settings(_Env):
    s3_endpoint_url: str | None = f"http://{LOCALHOST}:{INFRA_PORTS['MINIO_PORT']}"
    s3_access_key: SecretStr = SecretStr("twitter-local")
    s3_secret_key: SecretStr = SecretStr("twitter-local-secret")
    s3_bucket: str = "twitter-media"
    s3_region: str = "us-east-1"
