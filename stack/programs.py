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
            # SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every client to
            # disconnect); the postmaster signals its own children, so no group signal.
            return Program(
                name, postgres.server_argv(settings), Tier.INFRA, 100, p["PG_PORT"],
                directory=postgres.data_dir(settings), user=postgres.os_user(),
                stopsignal="INT", stopasgroup=False,
            )  # fmt: skip
        case "redis":
            raise ValueError("redis runs as redis_servers()")
        case "nats":
            argv = [
                "/usr/sbin/nats-server", "-js", "-a", "127.0.0.1",
                "-p", str(p["NATS_PORT"]), "-m", str(p["NATS_MONITOR_PORT"]),
                "-sd", str(data / "nats"),
            ]  # fmt: skip
            return Program(name, argv, Tier.INFRA, 100, p["NATS_PORT"], directory=data / name)
        case "cassandra":
            ports = ("CASSANDRA_PORT", "CASSANDRA_STORAGE_PORT", "CASSANDRA_JMX_PORT")
            env = common | {k: str(p[k]) for k in ports}
            if heap := os.environ.get("CASSANDRA_HEAP"):
                env["CASSANDRA_HEAP"] = heap
            return Program(
                name, _script(name), Tier.INFRA, 100, p["CASSANDRA_PORT"],
                env=env, stopwaitsecs=60,
            )  # fmt: skip
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
            argv += ["--cluster-enabled", "yes", "--cluster-port", str(bus),
                     "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
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
    for name in local_infra:
        programs += redis_servers(settings) if name == "redis" else [
            infra(name, settings, contract)]
    if edge_present():
        programs.append(edge(settings, contract))
    for name in topology.services():
        programs += service(name, settings, contract)
    return programs
