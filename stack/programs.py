"""What supervisord runs: one Program per server, service and worker."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from stack import install, postgres, topology
from stack.topology import REPO, VENV_BIN, Settings

MEILISEARCH_INDEXING_MEMORY = "1GiB"
# Short enough that a replica takes over a dead primary's slots within about
# two seconds, long enough that a busy 2-core machine does not fail a node over.
REDIS_HA_NODE_TIMEOUT_MS = 1500


class Tier(Enum):
    INFRA = "infra"  # autostarted by supervisord
    APP = "app"  # started by `up` once the infrastructure is ready and migrated


@dataclass(frozen=True)
class Program:
    name: str
    argv: list[str]
    tier: Tier
    # supervisord starts in ascending and stops in descending priority: the edge stops
    # first, then workers and services drain, and the stores go last.
    priority: int
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    directory: Path = REPO  # created by `up`; redis and nats keep their data in theirs
    user: str | None = None
    stopsignal: str = "TERM"
    stopwaitsecs: int = 30
    stopasgroup: bool = True


def edge_present() -> bool:
    return (REPO / "edge" / "render.py").is_file()


def _script(component: str) -> list[str]:
    return ["/bin/bash", str(install.script("run", component))]


def infra(name: str, settings: Settings,
          contract: Mapping[str, str]) -> Program:
    p, data = settings.ports, settings.stack_dir
    common = {"STACK_DIR": str(data), "TWITTER_CACHE": str(settings.cache_dir)}
    match name:
        case "postgres":
            raise ValueError("postgres runs as postgres_servers()")
        case "redis":
            raise ValueError("redis runs as redis_servers()")
        case "nats":
            raise ValueError("nats runs as nats_servers()")
        case "cassandra":
            raise ValueError("cassandra runs as cassandra_nodes()")
        case "minio":
            env = common | {k: str(p[k]) for k in ("MINIO_PORT", "MINIO_CONSOLE_PORT")}
            env |= {k: contract[k] for k in ("S3_ACCESS_KEY", "S3_SECRET_KEY")}
            return Program(name, _script(name), Tier.INFRA, 100, p["MINIO_PORT"], env=env)
        case "jaeger":
            env = common | {k: str(p[k]) for k in topology.JAEGER_PORTS}
            if assets := os.environ.get("JAEGER_UI_ASSETS"):
                env["JAEGER_UI_ASSETS"] = assets
            return Program(name, _script(name), Tier.INFRA, 100, p["JAEGER_UI_PORT"], env=env)
        case "meilisearch":
            # Its dumps and snapshots default to the working directory: its data folder.
            # Indexing memory: by default two thirds of the RAM, and every batch,
            # however small, allocates buffers of 5% of it (0.5 s per write on 24 GiB).
            argv = [
                str(settings.binaries[name]), "--db-path", str(data / name / "data.ms"),
                "--http-addr", f"127.0.0.1:{p['MEILISEARCH_PORT']}",
                "--master-key", contract["MEILISEARCH_API_KEY"], "--no-analytics",
                "--max-indexing-memory", MEILISEARCH_INDEXING_MEMORY,
            ]  # fmt: skip
            return Program(name, argv, Tier.INFRA, 100, p["MEILISEARCH_PORT"],
                           directory=data / name)
    raise ValueError(f"unknown infrastructure component {name!r}")


def postgres_servers(settings: Settings) -> list[Program]:
    """The server; under TOPOLOGY=ha two nodes, each started by a script that
    makes it the primary or a streaming standby (stack/pg_ha.py), and the
    failover watcher that promotes the standby when the primary dies."""
    # SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every client to
    # disconnect); the postmaster signals its own children, so no group signal.
    common = {"user": postgres.os_user(), "stopsignal": "INT", "stopasgroup": False}
    if not settings.ha:
        return [Program("postgres", postgres.server_argv(settings), Tier.INFRA, 100,
                        settings.ports["PG_PORT"], directory=postgres.data_dir(settings),
                        **common)]  # type: ignore[arg-type]
    from stack import pg_ha  # noqa: PLC0415 - it imports this module's neighbours

    nodes: list[Program] = [
        Program(name, pg_ha.node_argv(settings, name), Tier.INFRA, 100, port,
                directory=postgres.home(settings), **common)  # type: ignore[arg-type]
        for name, port in topology.postgres_nodes(settings)]
    watcher = Program(pg_ha.WATCHER, [str(VENV_BIN / "python"), "-m", "stack.pg_ha"],
                      Tier.INFRA, 110, env={"TOPOLOGY": "ha", "STACK_DIR":
                                            str(settings.stack_dir)}, stopwaitsecs=5)
    return [*nodes, watcher]


def nats_servers(settings: Settings) -> list[Program]:
    """One JetStream server, or under TOPOLOGY=ha a cluster of three: each routes
    to the others and keeps its own store (a stream of 3 replicas lives on all)."""
    nodes = topology.nats_nodes(settings)
    programs = []
    for node in nodes:
        directory = settings.stack_dir / node.name
        argv = [
            "/usr/sbin/nats-server", "-js", "-a", "127.0.0.1",
            "-p", str(node.port), "-m", str(node.monitor_port), "-sd", str(directory),
        ]  # fmt: skip
        if node.cluster_port:
            routes = ",".join(f"nats://127.0.0.1:{n.cluster_port}" for n in nodes)
            argv += ["--server_name", node.name, "--cluster_name", "twitter",
                     "--cluster", f"nats://127.0.0.1:{node.cluster_port}", "--routes", routes]
        programs.append(Program(node.name, argv, Tier.INFRA, 100, node.port,
                                directory=directory))
    return programs


# Per node under TOPOLOGY=ha: three JVMs share two cores with everything else.
HA_CASSANDRA_HEAP = "384M"


def cassandra_servers(settings: Settings) -> list[Program]:
    """One Cassandra node, or under TOPOLOGY=ha three, each with its token, all seeds."""
    p, nodes = settings.ports, topology.cassandra_nodes(settings)
    seeds = ",".join(f"{n.address}:{p['CASSANDRA_STORAGE_PORT']}" for n in nodes)
    programs = []
    for node in nodes:
        env = {"STACK_DIR": str(settings.stack_dir), "TWITTER_CACHE": str(settings.cache_dir),
               "CASSANDRA_PORT": str(p["CASSANDRA_PORT"]),
               "CASSANDRA_STORAGE_PORT": str(p["CASSANDRA_STORAGE_PORT"]),
               "CASSANDRA_JMX_PORT": str(node.jmx_port)}
        if settings.ha:  # the script's defaults are the single node's
            env |= {"CASSANDRA_NODE": node.name, "CASSANDRA_ADDRESS": node.address,
                    "CASSANDRA_SEEDS": seeds, "CASSANDRA_INITIAL_TOKEN": str(node.initial_token),
                    "CASSANDRA_REPLICATED": "true"}
        if heap := os.environ.get("CASSANDRA_HEAP") or (HA_CASSANDRA_HEAP if settings.ha
                                                        else None):
            env["CASSANDRA_HEAP"] = heap
        if slack := os.environ.get("CASSANDRA_TIMER_SLACK_NS"):  # to compare; see the script
            env["CASSANDRA_TIMER_SLACK_NS"] = slack
        programs.append(Program(node.name, _script("cassandra"), Tier.INFRA, 100,
                                p["CASSANDRA_PORT"], env=env, stopwaitsecs=60))
    return programs


def redis_servers(settings: Settings) -> list[Program]:
    """One redis-server, or the primaries of a cluster (stack/redis_cluster.py
    assigns their slots once they answer). Each keeps its data, and a cluster
    node its nodes.conf, in its own directory; the single server in one of
    its own, so switching REDIS_MODE never mixes the two."""
    programs = []
    for name, port, bus in topology.redis_nodes(settings):
        directory = settings.stack_dir / (name if settings.redis_cluster else "redis-single")
        argv = [
            "/usr/bin/redis-server",
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--protected-mode", "yes",
            "--dir", str(directory),
            "--appendonly", "yes",
            "--daemonize", "no",
        ]  # fmt: skip
        if settings.redis_cluster:
            # A cache: while one primary is down the others keep serving their slots.
            # With replicas (TOPOLOGY=ha) a dead primary's replica takes over
            # once the others have missed it for the node timeout.
            timeout = REDIS_HA_NODE_TIMEOUT_MS if settings.ha else 5000
            argv += ["--cluster-enabled", "yes", "--cluster-port", str(bus),
                     "--cluster-config-file", "nodes.conf",
                     "--cluster-node-timeout", str(timeout),
                     "--cluster-require-full-coverage", "no"]
        programs.append(Program(name, argv, Tier.INFRA, 100, port, directory=directory))
    return programs


def edge(settings: Settings, contract: Mapping[str, str]) -> Program:
    # edge.render reads the contract and the ports to write Envoy's configuration.
    env = dict(contract) | {k: str(v) for k, v in settings.ports.items()}
    # Access logs straight to a file: through supervisord's stdout pipe, every
    # request would cost its Python process a read and a write.
    env["ENVOY_ACCESS_LOG"] = str(settings.logs_dir / "envoy-access.log")
    for name in topology.services():
        ports = topology.process_ports(settings.service_port(name), settings.processes[name])
        if ports:
            env[f"{name.upper()}_PROCESS_PORTS"] = ",".join(map(str, ports))
    return Program(
        topology.EDGE, _script("envoy"), Tier.APP, 400,
        settings.ports["EDGE_PORT"], env=env,
    )  # fmt: skip


def service(name: str, settings: Settings, contract: Mapping[str, str]) -> list[Program]:
    port = settings.service_port(name)
    base = dict(contract) | {"PYTHONUNBUFFERED": "1"}
    python = str(VENV_BIN / "python")
    metrics = port + topology.METRICS_OFFSET
    own_ports = topology.process_ports(port, settings.processes[name])
    programs = [
        Program(
            process_name(name, n), [python, "-m", f"services.{name}"], Tier.APP, 300, port,
            env=base | {
                "SERVICE_NAME": name,
                "GRPC_PORT": str(port),
                "METRICS_PORT": str(metrics + (n - 1) * topology.PROCESS_METRICS_STRIDE),
                "GRPC_PROCESS_PORT": str(own_ports[n - 1] if own_ports else 0),
            },
        )
        for n in range(1, settings.processes[name] + 1)
    ]  # fmt: skip
    if topology.has_worker(name):
        # Workers stop before services: they consume events and call the services.
        programs.append(
            Program(
                f"{name}-worker", [python, "-m", f"services.{name}.worker"], Tier.APP, 350,
                env=base | {
                    "SERVICE_NAME": f"{name}-worker",
                    "METRICS_PORT": str(port + topology.WORKER_METRICS_OFFSET),
                },
            )
        )  # fmt: skip
    return programs


def process_name(service: str, n: int) -> str:
    """The first process carries the service's name; more are `<name>-p<n>`."""
    return service if n == 1 else f"{service}-p{n}"


def build(settings: Settings, contract: Mapping[str, str], local_infra: list[str]) -> list[Program]:
    programs: list[Program] = []
    several = {"redis": redis_servers, "postgres": postgres_servers, "nats": nats_servers,
               "cassandra": cassandra_servers}
    for name in local_infra:
        programs += several[name](settings) if name in several else [
            infra(name, settings, contract)]
    if edge_present():
        programs.append(edge(settings, contract))
    for name in topology.services():
        programs += service(name, settings, contract)
    return programs
