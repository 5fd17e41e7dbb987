"""Every component of the local stack, its port variable and default, and where things live.

The ports themselves are the one table in services/shared/ports.py; every port can be
changed through the environment variable named there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.shared.ports import INFRA_PORTS, SERVICE_PORTS

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
SERVICES_DIR = REPO / "services"

JAEGER_PORTS = ("OTLP_GRPC_PORT", "OTLP_HTTP_PORT", "JAEGER_UI_PORT", "JAEGER_GRPC_PORT",
                "JAEGER_ADMIN_PORT", "JAEGER_METRICS_PORT")

METRICS_OFFSET = 100  # a service's Prometheus port is its gRPC port + 100
# Processes per service, all on the service's port (gRPC listens with
# SO_REUSEPORT, so the kernel spreads connections over them); <NAME>_PROCESSES
# overrides. One each on this 2-core machine: in the mixed benchmark (open
# loop, the load every request shape shares) two timeline and two tweets
# processes cost ~25% more CPU a request than one each, and saturated at
# 132 req/s against 175-201 (paired runs, docs/CAPACITY.md); two serve more only
# where one service alone saturates the machine (16 busy connections of home
# pages: 686-747 req/s against 539-620). `make test` runs two tweets
# processes, so the suite covers what replicas share (tests that need two
# skip with one).
# Process n > 1 serves metrics on the first one's metrics port + 1000 * (n - 1).
PROCESS_METRICS_STRIDE = 1000
# With more than one process, process n also listens on port + 10 * n alone;
# the edge balances requests over those ports (a kernel spreads connections only).
PROCESS_PORT_STRIDE = 10


def process_ports(port: int, processes: int) -> list[int]:
    if processes == 1:
        return []
    return [port + PROCESS_PORT_STRIDE * n for n in range(1, processes + 1)]
WORKER_METRICS_OFFSET = 200  # a worker runs beside its service, so it needs a port of its own


@dataclass(frozen=True)
class Infra:
    """A backing server the stack runs unless the caller points the services elsewhere."""

    name: str
    port_var: str
    ready_timeout: float  # seconds; Cassandra's first start on 2 cores takes about a minute
    # Optional components run only when this variable names their binary; without
    # it (and without an external address) the stack does without them.
    binary_var: str | None = None


INFRA: tuple[Infra, ...] = (
    Infra("postgres", "PG_PORT", 60),
    Infra("redis", "REDIS_PORT", 30),
    Infra("nats", "NATS_PORT", 30),
    # Before the services start, so their first spans have somewhere to go.
    Infra("jaeger", "JAEGER_UI_PORT", 30),
    Infra("cassandra", "CASSANDRA_PORT", 240),
    Infra("minio", "MINIO_PORT", 90),
    # No registry ships a Meilisearch server: MEILISEARCH_BIN names one built by
    # hand (or MEILISEARCH_URL an external one); otherwise search uses PostgreSQL.
    Infra("meilisearch", "MEILISEARCH_PORT", 60, binary_var="MEILISEARCH_BIN"),
)
INFRA_NAMES = frozenset(c.name for c in INFRA)
EDGE = "envoy"
EDGE_READY_TIMEOUT = 60.0
SERVICE_READY_TIMEOUT = 90.0


def service_port_var(service: str) -> str:
    return f"{service.upper()}_PORT"


def service_addr_var(service: str) -> str:
    return f"{service.upper()}_ADDR"


@dataclass(frozen=True)
class Settings:
    """Ports and directories resolved from the environment."""

    ports: dict[str, int]
    stack_dir: Path
    cache_dir: Path
    processes: dict[str, int]
    # Optional components' binaries, by component name (only those given).
    binaries: dict[str, Path]
    # Redis Cluster of REDIS_PRIMARIES primaries (the default), or one plain
    # Redis with REDIS_MODE=single.
    redis_cluster: bool = True
    # TOPOLOGY=ha: every store replicated (docs/HA.md); its own data directory.
    ha: bool = False

    def service_port(self, service: str) -> int:
        return self.ports[service_port_var(service)]

    @property
    def logs_dir(self) -> Path:
        return self.stack_dir / "logs"


MAX_PORT = 65535


def _port(environ: Mapping[str, str], var: str, default: int) -> int:
    raw = environ.get(var, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"\d{1,5}", raw) or not 0 < int(raw) <= MAX_PORT:
        raise ValueError(f"{var}={raw!r} is not a TCP port")
    return int(raw)


def load(environ: Mapping[str, str] = os.environ) -> Settings:
    defaults = INFRA_PORTS | {service_port_var(s): p for s, p in SERVICE_PORTS.items()}
    ports = {var: _port(environ, var, default) for var, default in defaults.items()}
    # A relative STACK_DIR would break every child that runs from another directory.
    ha = topology_name(environ) == "ha"
    default_dir = REPO / (HA_DATA if ha else ".data")
    stack_dir = Path(environ.get("STACK_DIR") or default_dir).absolute()
    cache_dir = Path(
        environ.get("TWITTER_CACHE") or Path.home() / ".cache" / "twitter-mesh"
    ).absolute()
    processes = {s: _processes(environ, s) for s in SERVICE_PORTS}
    binaries = {c.name: Path(environ[c.binary_var]).absolute() for c in INFRA
                if c.binary_var and environ.get(c.binary_var, "").strip()}
    mode = environ.get("REDIS_MODE", "").strip() or "cluster"
    if mode not in REDIS_MODES:
        raise ValueError(f"REDIS_MODE={mode!r} is not one of {', '.join(REDIS_MODES)}")
    if ha and mode != "cluster":
        raise ValueError("TOPOLOGY=ha runs a Redis Cluster: unset REDIS_MODE")
    return Settings(ports=ports, stack_dir=stack_dir,
                    cache_dir=cache_dir, processes=processes, binaries=binaries,
                    redis_cluster=mode == "cluster", ha=ha)


# TOPOLOGY: "single" (the default, one process per store: what `make test`
# uses) or "ha" (every store replicated; docs/HA.md). Both use the same
# ports, so only one runs at a time; the HA stack keeps its data in
# .data-ha (unless STACK_DIR says otherwise).
TOPOLOGIES = ("single", "ha")
HA_DATA = ".data-ha"


def topology_name(environ: Mapping[str, str] = os.environ) -> str:
    name = environ.get("TOPOLOGY", "").strip() or "single"
    if name not in TOPOLOGIES:
        raise ValueError(f"TOPOLOGY={name!r} is not one of {', '.join(TOPOLOGIES)}")
    return name


REDIS_MODES = ("cluster", "single")
# The local cluster's primaries: program name, client port, cluster bus port.
REDIS_NODES = (("redis", "REDIS_PORT", "REDIS_BUS_PORT"),
               ("redis-2", "REDIS_PORT_2", "REDIS_BUS_PORT_2"),
               ("redis-3", "REDIS_PORT_3", "REDIS_BUS_PORT_3"))


# TOPOLOGY=ha adds a replica for each primary (redis-cli pairs them).
REDIS_REPLICAS = (("redis-4", "REDIS_PORT_4", "REDIS_BUS_PORT_4"),
                  ("redis-5", "REDIS_PORT_5", "REDIS_BUS_PORT_5"),
                  ("redis-6", "REDIS_PORT_6", "REDIS_BUS_PORT_6"))


def redis_nodes(settings: Settings) -> list[tuple[str, int, int]]:
    """(program, port, bus port) of each local Redis server: three primaries
    (and their replicas under TOPOLOGY=ha), or one."""
    nodes: tuple[tuple[str, str, str], ...] = \
        REDIS_NODES if settings.redis_cluster else REDIS_NODES[:1]
    if settings.ha:
        nodes += REDIS_REPLICAS
    return [(name, settings.ports[port], settings.ports[bus]) for name, port, bus in nodes]


@dataclass(frozen=True)
class NatsNode:
    name: str  # the supervisord program
    port: int
    monitor_port: int
    cluster_port: int  # 0: a lone server


NATS_NODES = (("nats", "NATS_PORT", "NATS_MONITOR_PORT", "NATS_CLUSTER_PORT"),
              ("nats-2", "NATS_PORT_2", "NATS_MONITOR_PORT_2", "NATS_CLUSTER_PORT_2"),
              ("nats-3", "NATS_PORT_3", "NATS_MONITOR_PORT_3", "NATS_CLUSTER_PORT_3"))


def nats_nodes(settings: Settings) -> list[NatsNode]:
    """One NATS server, or under TOPOLOGY=ha a JetStream cluster of three."""
    p = settings.ports
    if not settings.ha:
        return [NatsNode("nats", p["NATS_PORT"], p["NATS_MONITOR_PORT"], 0)]
    return [NatsNode(name, p[port], p[monitor], p[cluster])
            for name, port, monitor, cluster in NATS_NODES]


@dataclass(frozen=True)
class CassandraNode:
    name: str  # the supervisord program; its data lives in STACK_DIR/<name>
    address: str  # CQL and storage ports are the same on every node's address
    jmx_port: int  # on 127.0.0.1, whatever the address
    initial_token: int


# Murmur3 tokens spaced evenly: one token a node (num_tokens: 1), so a fresh
# cluster needs no bootstrap streaming and all three start at once.
CASSANDRA_TOKENS = (-9223372036854775808, -3074457345618258603, 3074457345618258602)
# Each node on a loopback address of its own (Linux routes all of 127/8 to lo),
# as ccm does: the Python driver takes a node's CQL port from the cluster's one
# port, so nodes on one address with different ports confuse it.
CASSANDRA_NODES = (("cassandra", "127.0.0.1", "CASSANDRA_JMX_PORT"),
                   ("cassandra-2", "127.0.0.2", "CASSANDRA_JMX_PORT_2"),
                   ("cassandra-3", "127.0.0.3", "CASSANDRA_JMX_PORT_3"))


def cassandra_nodes(settings: Settings) -> list[CassandraNode]:
    """One Cassandra node (token 0), or under TOPOLOGY=ha three."""
    p = settings.ports
    if not settings.ha:
        return [CassandraNode("cassandra", "127.0.0.1", p["CASSANDRA_JMX_PORT"], 0)]
    return [CassandraNode(name, address, p[jmx], token)
            for (name, address, jmx), token in zip(CASSANDRA_NODES, CASSANDRA_TOKENS,
                                                   strict=True)]


def postgres_nodes(settings: Settings) -> list[tuple[str, int]]:
    """(program, port): the server, or under TOPOLOGY=ha the first primary and its
    streaming standby (stack/pg_ha.py moves the primary role between them)."""
    nodes = [("postgres", settings.ports["PG_PORT"])]
    if settings.ha:
        nodes.append(("postgres-2", settings.ports["PG_PORT_2"]))
    return nodes


def node_programs(settings: Settings) -> dict[str, str]:
    """Each store node's program -> its component (e.g. "nats-2" -> "nats")."""
    nodes = {name: "redis" for name, _, _ in redis_nodes(settings)}
    nodes |= {n.name: "nats" for n in nats_nodes(settings)}
    nodes |= {n.name: "cassandra" for n in cassandra_nodes(settings)}
    nodes |= {name: "postgres" for name, _ in postgres_nodes(settings)}
    return nodes


def runnable(settings: Settings) -> list[str]:
    """Infrastructure the stack can run itself: all but optional components
    whose binary was not given."""
    return [c.name for c in INFRA if c.binary_var is None or c.name in settings.binaries]


def _processes(environ: Mapping[str, str], service: str) -> int:
    var = f"{service.upper()}_PROCESSES"
    raw = environ.get(var, "").strip() or "1"
    if not re.fullmatch(r"[1-9]", raw):  # process ports are port + 10 * n
        raise ValueError(f"{var}={raw!r} is not a process count (1-9)")
    return int(raw)


def services() -> list[str]:
    """Services present in the tree: a package with a __main__.py, in topology order."""
    return [s for s in SERVICE_PORTS if (SERVICES_DIR / s / "__main__.py").is_file()]


# Runnable packages under services/ that are not servers: the release's
# migrations run once (`up` and the deploy's migrate Job), not under supervision.
ONE_SHOT = frozenset({"migrations"})


def unknown_services() -> list[str]:
    """Runnable packages under services/ that have no port assigned here."""
    found = {p.parent.name for p in SERVICES_DIR.glob("*/__main__.py")}
    return sorted(found - SERVICE_PORTS.keys() - ONE_SHOT)


def has_worker(service: str) -> bool:
    return (SERVICES_DIR / service / "worker.py").is_file()


def service_of(program: str) -> str:
    """The service a program runs (its worker and extra processes included)."""
    return re.sub(r"-(worker|p\d+)$", "", program)
