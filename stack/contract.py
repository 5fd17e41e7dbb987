"""The environment contract the services read, and which backing servers are external."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from stack import topology
from stack.topology import Settings

PG_USER = PG_PASSWORD = PG_DATABASE = "twitter"  # noqa: S105 (local dev credentials)
LOOPBACK = "127.0.0.1"

# Contract keys that, when the caller sets them to a non-local value, mean the
# component is provided elsewhere (e.g. SCYLLA_HOSTS pointing at a real ScyllaDB).
EXTERNAL_KEYS: dict[str, tuple[str, ...]] = {
    "postgres": ("PG_DSN",),
    "redis": ("REDIS_URL",),
    "nats": ("NATS_URL",),
    "cassandra": ("SCYLLA_HOSTS", "SCYLLA_PORT"),
    "minio": ("S3_ENDPOINT_URL",),
    "meilisearch": ("MEILISEARCH_URL",),
}
# Passed on when set even if the stack has no local value for them.
PASSTHROUGH = ("MEILISEARCH_URL", "MEILISEARCH_API_KEY")
MEILISEARCH_KEY = "twitter-local-meilisearch-master-key"  # local dev credential


def local(settings: Settings) -> dict[str, str]:
    """The contract as the local stack serves it, ignoring the caller's environment."""
    p = settings.ports
    env = {
        "PG_DSN": f"postgresql://{PG_USER}:{PG_PASSWORD}@{LOOPBACK}:{p['PG_PORT']}/{PG_DATABASE}",
        "REDIS_URL": f"redis://{LOOPBACK}:{p['REDIS_PORT']}/0",
        "NATS_URL": f"nats://{LOOPBACK}:{p['NATS_PORT']}",
        "SCYLLA_HOSTS": LOOPBACK,
        "SCYLLA_PORT": str(p["CASSANDRA_PORT"]),
        "SCYLLA_KEYSPACE": "twitter",
        "SCYLLA_REPLICATION": "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        "S3_ENDPOINT_URL": f"http://{LOOPBACK}:{p['MINIO_PORT']}",
        "S3_ACCESS_KEY": "twitter-local",
        "S3_SECRET_KEY": "twitter-local-secret",
        "S3_BUCKET": "twitter-media",
        "S3_REGION": "us-east-1",
        "AUTH_KEYS_DIR": str(settings.stack_dir / "keys"),
    }
    for service in topology.SERVICE_PORTS:
        env[topology.service_addr_var(service)] = f"{LOOPBACK}:{settings.service_port(service)}"
    if "meilisearch" in settings.binaries:  # a local Meilisearch: search uses it
        env["MEILISEARCH_URL"] = f"http://{LOOPBACK}:{p['MEILISEARCH_PORT']}"
        env["MEILISEARCH_API_KEY"] = MEILISEARCH_KEY
    env["EDGE_URL"] = f"http://{LOOPBACK}:{p['EDGE_PORT']}"
    env["STACK_DIR"] = str(settings.stack_dir)
    return env


def build(settings: Settings, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The local contract, where any value the caller already set wins."""
    env = {key: environ.get(key) or value for key, value in local(settings).items()}
    env.update({key: environ[key] for key in PASSTHROUGH if environ.get(key)})
    return env


def external(settings: Settings, environ: Mapping[str, str] = os.environ) -> set[str]:
    """Components the caller provides. A value equal to the local one (e.g. after
    `eval "$(python -m stack env)"`) still means the local server."""
    ours = local(settings)
    return {
        name
        for name, keys in EXTERNAL_KEYS.items()
        if any(environ.get(k) and environ[k] != ours.get(k) for k in keys)
    }


def write_env_file(path: Path, env: Mapping[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    tmp.replace(path)


def export_lines(env: Mapping[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
