"""Each store node's health and role (TOPOLOGY=ha runs several per store): what
`up` waits for node by node and what `make status` shows beside each node.

Each probe asks the node itself, in its own protocol, and raises when it
cannot answer; the detail names its role (primary or replica, leader or
follower, up or down in the ring).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping

from stack import topology
from stack.topology import Settings

NodeProbe = Callable[[Mapping[str, str], float], str]


def redis(port: int, timeout: float) -> str:
    import redis as redis_lib

    with redis_lib.Redis(host="127.0.0.1", port=port, socket_timeout=timeout,
                         socket_connect_timeout=timeout) as client:
        info = client.info("replication")
    if info["role"] == "master":
        return f"primary, {info.get('connected_slaves', 0)} replica(s)"
    link = info.get("master_link_status", "?")
    if link != "up":  # still syncing, or its primary is gone
        raise RuntimeError(f"replica of :{info.get('master_port')}, link {link}")
    return f"replica of :{info.get('master_port')}"


def nats(name: str, monitor_port: int, timeout: float) -> str:
    """The server's JetStream view (its monitoring port): cluster meta leader
    and the leader of each stream it holds a replica of."""
    url = f"http://127.0.0.1:{monitor_port}/jsz?streams=true"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        jsz = json.load(response)
    meta = (jsz.get("meta_cluster") or {}).get("leader")
    streams = [s for account in jsz.get("account_details") or []
               for s in account.get("stream_detail") or []]
    leads = [s["name"] for s in streams if (s.get("cluster") or {}).get("leader") == name]
    if meta is None:
        return f"JetStream, {len(streams)} streams"  # a lone server
    role = "meta leader" if meta == name else f"follower (meta leader {meta})"
    held = ", ".join(f"{s['name']} {'leader' if s['name'] in leads else 'replica'}"
                     for s in streams)
    return f"JetStream {role}; {held or 'no stream'}"


def cassandra(address: str, env: Mapping[str, str], timeout: float) -> str:
    """The node's own answer (queries sent to it alone) and how many of its
    peers it sees up in gossip."""
    from cassandra.cluster import Cluster
    from cassandra.policies import WhiteListRoundRobinPolicy

    cluster = Cluster([address], port=int(env["SCYLLA_PORT"]), connect_timeout=timeout,
                      control_connection_timeout=timeout,
                      load_balancing_policy=WhiteListRoundRobinPolicy([address]))
    try:
        session = cluster.connect()
        row = session.execute("SELECT tokens FROM system.local", timeout=timeout).one()
    finally:
        cluster.shutdown()
    token = ",".join(sorted(row.tokens)) if row.tokens else "?"
    return f"up on {address}, token {token}"


def postgres(settings: Settings, node: str, timeout: float) -> str:
    from stack import pg_ha

    if not settings.ha:
        return "primary"
    return pg_ha.role(settings, node, timeout)


def for_node(settings: Settings, program: str) -> NodeProbe | None:
    """The probe of a store node's program, or None when the program is no node."""
    component = topology.node_programs(settings).get(program)
    if component == "redis":
        port = next(p for n, p, _ in topology.redis_nodes(settings) if n == program)
        return lambda _env, timeout: redis(port, timeout)
    if component == "nats":
        monitor = next(n.monitor_port for n in topology.nats_nodes(settings) if n.name == program)
        return lambda _env, timeout: nats(program, monitor, timeout)
    if component == "cassandra":
        address = next(n.address for n in topology.cassandra_nodes(settings)
                       if n.name == program)
        return lambda env, timeout: cassandra(address, env, timeout)
    if component == "postgres":
        return lambda _env, timeout: postgres(settings, program, timeout)
    return None
