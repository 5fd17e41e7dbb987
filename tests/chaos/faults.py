"""Faults the chaos run injects into the local stack, one at a time, through
supervisord: a clean stop then a start after a while, or a SIGKILL that
supervisord answers with a restart (as Kubernetes would)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from stack import probes
from tests.support.stack_control import control, wait_infra_ready, wait_serving
from tests.support.wait import eventually


@dataclass(frozen=True)
class Fault:
    name: str  # shown in the table
    program: str  # the supervisord program
    kind: str  # "stop" (held for the fault's duration) or "kill" (SIGKILL)

    async def inject(self) -> None:
        if self.kind == "stop":
            await control("stop", self.program)
        else:
            await control("signal", "KILL", self.program)

    async def restore(self, env: dict[str, str], within: float = 240.0) -> None:
        """Brings the program back (a killed one is restarted by supervisord)
        and waits until it serves."""
        if self.kind == "stop":
            await control("start", self.program)
        if self.program in probes.INFRA:
            await wait_infra_ready(self.program, env, within)
        elif self.program.endswith("-worker"):
            await _running(self.program, within)
        else:
            await wait_serving(self.program, within)


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


async def _ready(name: str, env: dict[str, str], within: float) -> None:
    async def ready() -> bool:
        await asyncio.to_thread(probes.INFRA[name], env, 5.0)
        return True
    await eventually(ready, within=within, every=0.5, what=f"{name} ready",
                     ignoring=(Exception,))


async def _running(program: str, within: float) -> None:
    async def running() -> bool:
        return "RUNNING" in await control("status", program)
    await eventually(running, within=within, every=0.5, what=f"{program} running")
