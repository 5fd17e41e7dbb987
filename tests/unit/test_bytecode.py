"""Each service starts from compiled bytecode: this machine and the image run
with PYTHONDONTWRITEBYTECODE=1, so a module without a current .pyc is compiled
again at every start (1.1-1.9 s of CPU a process, docs/CAPACITY.md).
`make venv` (tools/bootstrap.sh) compiles the environment once per lock, and
the project's own code each time (so a file edited since is not checked here)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.unit.test_shared_driver_imports import ALLOWED

VENV = Path(__file__).resolve().parents[2] / ".venv"
_CPUS = asyncio.Semaphore(os.cpu_count() or 2)  # one interpreter a core

# Prints the modules from the environment (.venv) that were compiled from
# source because no current .pyc was found.
_COMPILED_AT_START = """
import importlib, json, os, sys
for name in sys.argv[2:]:
    importlib.import_module(name)

def from_source(module):
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or ""
    if not origin.startswith(sys.argv[1]) or not origin.endswith(".py"):
        return False
    try:
        with open(spec.cached, "rb") as f:
            header = f.read(16)
    except (OSError, TypeError):
        return True
    if int.from_bytes(header[4:8], "little"):  # hash-based: made from this source
        return False
    stat = os.stat(origin)
    return (int.from_bytes(header[8:12], "little"), int.from_bytes(header[12:16], "little")) \\
        != (int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)

print(json.dumps(sorted(n for n, m in list(sys.modules.items()) if from_source(m))))
"""


async def compiled_at_start(entry: str) -> list[str]:
    async with _CPUS:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _COMPILED_AT_START, str(VENV), entry,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    found: list[str] = json.loads(out)
    return found


async def test_every_service_starts_from_compiled_bytecode() -> None:
    entries = list(ALLOWED)
    found = await asyncio.gather(*(compiled_at_start(entry) for entry in entries))
    missing = {entry: names[:10] for entry, names in zip(entries, found, strict=True) if names}
    assert missing == {}, f"modules compiled at start (run tools/bootstrap.sh): {missing}"
