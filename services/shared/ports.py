"""The one table of the local stack's ports: each service's gRPC port and each
backing server's. The stack (stack/topology.py), the edge (edge/render.py) and
every service's settings (services/shared/config.py) read their defaults from
here; each can be moved with the environment variable named after it
(`USERS_PORT`, `PG_PORT`, ...). Adding a service means one row in SERVICE_PORTS.

Defaults avoid the standard ports so the stack can run next to system services.
"""

from __future__ import annotations

LOCALHOST = "127.0.0.1"

# gRPC port of each service; its <NAME>_PORT variable overrides it. Ports
# 171xx + 10 n are taken by a service's extra processes (stack/topology.py).
SERVICE_PORTS: dict[str, int] = {
    "users": 17101,
    "tweets": 17102,
    "timeline": 17103,
    "search": 17104,
    "media": 17105,
    "messages": 17106,
    "ratelimit": 17107,
    "notifications": 17108,
}

INFRA_PORTS: dict[str, int] = {
    "PG_PORT": 15432,
    # TOPOLOGY=ha (docs/HA.md): the streaming standby.
    "PG_PORT_2": 15433,
    # Redis Cluster (the default): three primaries, each with its cluster bus
    # port (redis-server would take port + 10000, outside this table).
    # REDIS_MODE=single runs only the first, as a plain Redis.
    "REDIS_PORT": 16379,
    "REDIS_PORT_2": 16380,
    "REDIS_PORT_3": 16381,
    "REDIS_BUS_PORT": 16382,
    "REDIS_BUS_PORT_2": 16383,
    "REDIS_BUS_PORT_3": 16384,
    # TOPOLOGY=ha: one replica per primary.
    "REDIS_PORT_4": 16385,
    "REDIS_PORT_5": 16386,
    "REDIS_PORT_6": 16387,
    "REDIS_BUS_PORT_4": 16388,
    "REDIS_BUS_PORT_5": 16389,
    "REDIS_BUS_PORT_6": 16390,
    "NATS_PORT": 14222,
    "NATS_MONITOR_PORT": 18222,
    # TOPOLOGY=ha: a JetStream cluster of three servers, each with a route port.
    "NATS_PORT_2": 14223,
    "NATS_PORT_3": 14224,
    "NATS_MONITOR_PORT_2": 18223,
    "NATS_MONITOR_PORT_3": 18224,
    "NATS_CLUSTER_PORT": 14225,
    "NATS_CLUSTER_PORT_2": 14226,
    "NATS_CLUSTER_PORT_3": 14227,
    "CASSANDRA_PORT": 19042,
    "CASSANDRA_STORAGE_PORT": 17700,
    "CASSANDRA_JMX_PORT": 17199,  # loopback only; nodetool talks to it
    # TOPOLOGY=ha: two more nodes on 127.0.0.2 and 127.0.0.3, on the ports
    # above (the driver assumes one CQL port for all nodes), but JMX binds
    # 127.0.0.1 whatever the node's address, so each needs its own.
    "CASSANDRA_JMX_PORT_2": 13134,  # not 171xx/172xx: service process and metrics ports
    "CASSANDRA_JMX_PORT_3": 13135,
    "MINIO_PORT": 19000,
    "MINIO_CONSOLE_PORT": 19001,
    # The local backup store (stack/backup): a MinIO of its own, outside .data.
    "BACKUP_S3_PORT": 19002,
    "EDGE_PORT": 8080,
    "ENVOY_ADMIN_PORT": 19901,
    "MEILISEARCH_PORT": 17710,
    # Jaeger, the trace backend: OTLP in, query API and UI out.
    "OTLP_GRPC_PORT": 14317,
    "OTLP_HTTP_PORT": 14318,
    "JAEGER_UI_PORT": 17686,
    "JAEGER_GRPC_PORT": 17685,
    "JAEGER_ADMIN_PORT": 13133,  # not 171xx: process ports (port + 10 n) live there
    "JAEGER_METRICS_PORT": 17888,
}


def service_addr(service: str) -> str:
    """A service's default address (host:port) on the local stack."""
    return f"{LOCALHOST}:{SERVICE_PORTS[service]}"


def infra_port(var: str) -> int:
    return INFRA_PORTS[var]
