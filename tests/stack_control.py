"""Starting and stopping the local stack's programs from tests (supervisorctl)."""

from __future__ import annotations

import asyncio
import subprocess

from stack import topology
from stack.programs import process_name


def supervisorctl(*args: str) -> str:
    conf = topology.load().stack_dir / "supervisord.conf"
    return subprocess.run([str(topology.VENV_BIN / "supervisorctl"), "-c", str(conf), *args],
                          capture_output=True, text=True, check=False).stdout


async def control(*args: str) -> str:
    return await asyncio.to_thread(supervisorctl, *args)


def processes(service: str) -> list[str]:
    """The supervisord programs running a service (one per process)."""
    return [process_name(service, n) for n in range(1, topology.load().processes[service] + 1)]
