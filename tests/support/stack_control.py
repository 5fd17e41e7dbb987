"""Starting and stopping the local stack's programs from tests (supervisorctl)."""

from __future__ import annotations

import asyncio
import subprocess
import time

from services.shared.config import AuthSettings
from services.shared.rpc.clients import internal_channel
from stack import probes, topology
from stack.programs import process_name
from tests.support.wait import eventually


def supervisorctl(*args: str) -> str:
    conf = topology.load().stack_dir / "supervisord.conf"
    return subprocess.run([str(topology.VENV_BIN / "supervisorctl"), "-c", str(conf), *args],
                          capture_output=True, text=True, check=False).stdout


async def control(*args: str) -> str:
    return await asyncio.to_thread(supervisorctl, *args)


def processes(service: str) -> list[str]:
    """The supervisord programs running a service (one per process)."""
    return [process_name(service, n) for n in range(1, topology.load().processes[service] + 1)]


def redis_programs() -> list[str]:
    """The supervisord programs of the local Redis: the cluster's three
    primaries, or the single server (stack/programs.redis_servers)."""
    return [name for name, _, _ in topology.redis_nodes(topology.load())]


async def wait_serving(service: str, within: float = 60.0) -> None:
    """Until every process of the service answers its health check on its own
    port (a restarted process listens a moment after supervisord calls it up)."""
    settings = topology.load()
    port = settings.service_port(service)
    ports = topology.process_ports(port, settings.processes[service]) or [port]
    deadline = time.monotonic() + within
    for each in ports:
        async def serving(port: int = each) -> bool:
            await asyncio.to_thread(probes.grpc_health, f"127.0.0.1:{port}", 2.0)
            return True
        await eventually(serving, within=max(deadline - time.monotonic(), 0.0), every=0.2,
                         what=f"{service} serving on port {each}", ignoring=(RuntimeError,))
    # Channels in this process share connections (gRPC's subchannel pool); one
    # that failed during the restart waits out a reconnect backoff, and calls
    # fail fast meanwhile. Reconnect it now, as the tests' channels are made.
    channel = internal_channel(f"127.0.0.1:{port}", AuthSettings().internal_token
                               .get_secret_value())
    try:
        await asyncio.wait_for(channel.channel_ready(), max(deadline - time.monotonic(), 1))
    finally:
        await channel.close()


async def wait_all_serving(within: float = 60.0) -> None:
    """Until every process of every service reports SERVING: health follows
    the required stores (services/shared/resilience/health.py), so a fault test that
    restarted one returns only once no process would still answer 503."""
    await asyncio.gather(*(wait_serving(s, within) for s in topology.services()))


async def wait_infra_ready(name: str, env: dict[str, str], within: float) -> None:
    """Until the infrastructure component answers its stack probe."""
    async def ready() -> bool:
        await asyncio.to_thread(probes.INFRA[name], env, 5.0)
        return True
    await eventually(ready, within=within, every=0.5, what=f"{name} ready",
                     ignoring=(Exception,))
