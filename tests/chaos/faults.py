"""Faults the chaos run injects into the local stack, one at a time, through
supervisord: a clean stop then a start after a while, or a SIGKILL that
supervisord answers with a restart (as Kubernetes would). Under TOPOLOGY=ha,
one node of a replicated store is SIGKILLed and kept down for a while (so the
others must take over), then started again to rejoin."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from stack import node_probes, pg_ha, probes, topology
from stack.supervisor import Supervisor
from tests.support.stack_control import control, wait_infra_ready, wait_serving
from tests.support.wait import eventually

NO_OUTAGE = 0.0  # a node's death must not show: not one non-2xx answer


@dataclass(frozen=True)
class Fault:
    name: str  # shown in the table
    program: str  # the supervisord program (for a node fault: picked at injection)
    kind: str  # "stop" (held), "kill" (SIGKILL, restarted at once) or "kill-hold"
    # Seconds of non-2xx answers allowed; None: any outage answered 503/504 is fine.
    window_limit: float | None = None
    pick: Callable[[], str] | None = None  # which node, when the fault starts

    def target(self) -> str:
        return self.pick() if self.pick else self.program

    async def inject(self, program: str) -> None:
        if self.kind == "stop":
            await control("stop", program)
        elif self.kind == "kill":
            await control("signal", "KILL", program)
        else:
            settings = topology.load()
            await asyncio.to_thread(Supervisor(settings).kill_and_hold, program)

    async def restore(self, program: str, env: dict[str, str], within: float = 240.0) -> None:
        """Brings the program back (a killed one is restarted by supervisord)
        and waits until it serves (a node: in its role, e.g. a replica in sync)."""
        if self.kind in {"stop", "kill-hold"}:
            await control("start", program)
        node = node_probes.for_node(topology.load(), program)
        if node is not None and topology.load().ha:
            await _node_ready(program, node, env, within)
        if self.program in probes.INFRA:
            await wait_infra_ready(self.program, env, within)
        elif self.program.endswith("-worker"):
            await _running(program, within)
        elif node is None:
            await wait_serving(program, within)


ALL = [
    Fault("postgres stopped", "postgres", "stop"),
    Fault("cassandra stopped", "cassandra", "stop"),
    Fault("redis SIGKILL", "redis", "kill"),
    Fault("nats SIGKILL", "nats", "kill"),
    Fault("minio stopped", "minio", "stop"),
    Fault("tweets process SIGKILL", "tweets", "kill"),
    Fault("timeline worker SIGKILL", "timeline-worker", "kill"),
]
SHORT = [ALL[2], ALL[5]]  # redis and a service process: the quick ones

# A bounded window for the PostgreSQL primary: the watcher notices in 2 s and
# promotes (stack/pg_ha.py), pools reconnect to the new primary.
PG_PROMOTION_WINDOW_LIMIT = 15.0


def _redis_primary() -> str:
    """A Redis node that is a primary now (the fault before may have swapped roles)."""
    settings = topology.load()
    for name, port, _ in topology.redis_nodes(settings):
        if node_probes.redis(port, 2.0).startswith("primary"):
            return name
    raise RuntimeError("no Redis primary answers")


def _stream_leader() -> str:
    """The NATS server leading the event stream: killing it forces an election."""
    settings = topology.load()
    for node in topology.nats_nodes(settings):
        url = f"http://127.0.0.1:{node.monitor_port}/jsz?streams=true"
        with urllib.request.urlopen(url, timeout=2) as response:
            jsz = json.load(response)
        for account in jsz.get("account_details") or []:
            for stream in account.get("stream_detail") or []:
                leader = (stream.get("cluster") or {}).get("leader")
                if stream["name"] == "TWITTER" and leader:
                    return str(leader)
    raise RuntimeError("no leader for the TWITTER stream")


def _pg_primary() -> str:
    return pg_ha.primary(topology.load())[0]


HA = [
    Fault("redis primary SIGKILL", "redis", "kill-hold", NO_OUTAGE, _redis_primary),
    Fault("nats stream leader SIGKILL", "nats", "kill-hold", NO_OUTAGE, _stream_leader),
    Fault("cassandra node SIGKILL", "cassandra", "kill-hold", NO_OUTAGE, lambda: "cassandra-2"),
    Fault("postgres primary SIGKILL", "postgres", "kill-hold", PG_PROMOTION_WINDOW_LIMIT,
          _pg_primary),
]


async def _node_ready(program: str, probe: node_probes.NodeProbe, env: dict[str, str],
                      within: float) -> None:
    async def ready() -> bool:
        await asyncio.to_thread(probe, env, 5.0)
        return True
    await eventually(ready, within=within, every=0.5, what=f"{program} back in its role",
                     ignoring=(Exception,))


async def _running(program: str, within: float) -> None:
    async def running() -> bool:
        return "RUNNING" in await control("status", program)
    await eventually(running, within=within, every=0.5, what=f"{program} running")
