"""The local Redis Cluster: three primaries (and under TOPOLOGY=ha a replica
of each) started by supervisord (stack/programs.py), their 16384 slots
assigned once by `redis-cli --cluster create`. Each node keeps the cluster's
layout in its nodes.conf, so a restart (or `make up` again) finds the cluster
formed and changes nothing."""

from __future__ import annotations

import logging
import subprocess

import redis

from stack import topology, wait
from stack.topology import Settings

log = logging.getLogger("stack")
LOOPBACK = "127.0.0.1"
SLOTS = 16384


def _info(port: int, timeout: float) -> dict[str, str]:
    with redis.Redis(host=LOOPBACK, port=port, socket_timeout=timeout,
                     socket_connect_timeout=timeout) as client:
        raw: bytes = client.execute_command("CLUSTER", "INFO")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def adopt_single_server_data(settings: Settings) -> None:
    """A checkout from before the cluster kept its single Redis's data where
    the first cluster node keeps its own (`redis/`, no nodes.conf): that node
    would start holding keys and `--cluster create` refuses a non-empty node.
    The data is the single server's: it moves to the single server's directory
    (REDIS_MODE=single finds it there), so nothing is lost or mixed."""
    if not settings.redis_cluster:
        return
    first = settings.stack_dir / topology.REDIS_NODES[0][0]
    single = settings.stack_dir / "redis-single"
    if not first.is_dir() or (first / "nodes.conf").exists() or not any(first.iterdir()):
        return
    if single.exists():
        raise RuntimeError(f"{first} holds a single Redis's data and {single} exists too: "
                           "keep one (the cache rebuilds itself) and run `make up` again")
    first.rename(single)
    log.info("redis: moved the single server's data from %s to %s", first, single)


def ensure(settings: Settings, timeout: float) -> str:
    """Forms the cluster if no node has a slot yet, then waits until every node
    says the cluster is ok. A half-formed cluster is an error to look at, not
    something to repair silently."""
    ports = [port for _, port, _ in topology.redis_nodes(settings)]
    infos = [_info(port, timeout) for port in ports]
    assigned = [int(i["cluster_slots_assigned"]) for i in infos]
    if not any(assigned):
        log.info("redis: forming a cluster of %d nodes", len(ports))
        subprocess.run(  # noqa: S603 (our binary, our ports)
            ["/usr/bin/redis-cli", "--cluster", "create",
             *(f"{LOOPBACK}:{p}" for p in ports),
             "--cluster-replicas", "1" if settings.ha else "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60)
    elif sum(assigned) < SLOTS and all(i["cluster_known_nodes"] == "1" for i in infos):
        raise RuntimeError(f"redis cluster half formed (slots per node {assigned}): "
                           "`make clean` or fix it with redis-cli --cluster fix")

    primaries = len(topology.REDIS_NODES)

    def healthy() -> str:
        for port in ports:
            info = _info(port, timeout)
            if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) < len(ports):
                raise RuntimeError(f"node {port}: state {info['cluster_state']}, "
                                   f"{info['cluster_known_nodes']} nodes known")
            if int(info["cluster_size"]) != primaries:
                raise RuntimeError(f"node {port}: {info['cluster_size']} primaries serve slots")
        replicas = len(ports) - primaries
        return f"cluster ok, {primaries} primaries" + (f", {replicas} replicas" if replicas
                                                       else "")

    return wait.until(healthy, 60)
