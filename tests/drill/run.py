"""The restore drill: a backup under write traffic, more writes, every data directory
destroyed, a restore, and every write acknowledged before the backup point read back.

RPO is what the disaster cost: the time from the restore point (the backup's
consistent point, see stack/backup/run.py) to the disaster. RTO is the time from
the disaster (data gone) to every service answering again on the restored data.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from stack import topology
from stack.backup import guard, pgbackrest
from stack.backup import run as backups
from stack.down import down
from tests.drill.verify import Verdict, verify
from tests.drill.workload import Ledger, Traffic


@dataclass(frozen=True)
class Report:
    manifest: dict[str, Any]
    writes: int
    writes_before: int
    verdict: Verdict
    rpo: float
    rto: float
    restore_seconds: float
    failures: dict[int, int]

    def lines(self) -> list[str]:
        m, v = self.manifest, self.verdict
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(v.verified.items()))
        return [
            f"backup {m['label']}: {m['size'] / 2**20:.1f} MiB "
            f"({m['uploaded'] / 2**20:.1f} MiB uploaded), taken in "
            f"{_seconds(m['started_at'], m['finished_at']):.1f}s under traffic",
            f"writes acknowledged: {self.writes} ({self.writes_before} before the backup "
            f"point; not acknowledged, by status: {self.failures or 'none'})",
            f"verified: {sum(v.verified.values())} ({kinds}); missing: {len(v.missing)}",
            f"RPO: {self.rpo:.1f}s (restore point to disaster; PostgreSQL alone can be "
            f"restored to within {pgbackrest.ARCHIVE_TIMEOUT_SECONDS}s of it with TIME=)",
            f"RTO: {self.rto:.1f}s (data gone to every service answering; restore "
            f"{self.restore_seconds:.1f}s)",
            *(f"  MISSING {line}" for line in v.missing[:50]),
        ]


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def destroy(settings: topology.Settings) -> list[str]:
    """Every store's data directory, as a lost disk would (the keys and logs stay:
    they are configuration and output, not data)."""
    gone = []
    paths = [*guard.store_dirs(settings).values(), settings.stack_dir / "cassandra",
             pgbackrest.home(settings)]
    for path in paths:
        if path.exists():
            shutil.rmtree(path)
            gone.append(str(path))
    return gone


async def drill(edge_url: str, users: int, writers: int, before: float,
                after: float) -> Report:
    rng = random.Random(34)
    ledger = Ledger()
    async with httpx.AsyncClient(base_url=edge_url, timeout=30) as edge:
        seed = Traffic(edge, ledger, rng)
        for _ in range(users):
            await seed.sign_up()
        stop = asyncio.Event()
        loops = [asyncio.create_task(Traffic(edge, ledger, random.Random(n)).run(stop))
                 for n in range(writers)]
        await asyncio.sleep(before)  # writes accumulate before the backup
        manifest = await asyncio.to_thread(backups.backup)  # traffic goes on meanwhile
        await asyncio.sleep(after)  # and after it
        stop.set()
        await asyncio.gather(*loops)
    point = datetime.fromisoformat(manifest["started_at"]).timestamp()
    restore_point = datetime.fromisoformat(manifest["consistent_at"]).timestamp()

    settings = topology.load()
    await asyncio.to_thread(down)
    destroy(settings)
    disaster = time.time()
    restored = await asyncio.to_thread(backups.restore, manifest["label"])
    async with httpx.AsyncClient(base_url=edge_url, timeout=30) as edge:
        r = await edge.get("/healthz")
        r.raise_for_status()
        answering = time.time()
        verdict = await verify(edge, ledger, point)
    return Report(
        manifest=manifest, writes=len(ledger.writes),
        writes_before=sum(w.acked < point for w in ledger.writes), verdict=verdict,
        rpo=disaster - restore_point, rto=answering - disaster,
        restore_seconds=restored.seconds, failures=dict(ledger.failures),
    )  # fmt: skip
