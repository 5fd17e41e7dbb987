"""A restore goes into an empty stack: one that holds data is refused unless forced.

Whatever a store holds would be overwritten or, worse, mixed with the backup's
data (a Redis timeline naming tweets the restored Cassandra never had). Forced,
the data is moved aside, never deleted, so a mistaken FORCE=1 can be undone.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from stack import postgres
from stack.errors import StackError
from stack.topology import Settings


class RestoreRefusedError(StackError):
    """The target stack holds data."""


@dataclass(frozen=True)
class Held:
    store: str
    path: Path
    newest: datetime  # the newest file's modification time


def store_dirs(settings: Settings) -> dict[str, Path]:
    """Every store's data directory: the durable ones and the rebuilt caches."""
    data = settings.stack_dir
    return {
        "postgres": postgres.data_dir(settings),
        "cassandra": data / "cassandra" / "data",
        "cassandra-commitlog": data / "cassandra" / "commitlog",
        "nats": data / "nats",
        "minio": data / "minio",
        "redis": data / "redis",
        "meilisearch": data / "meilisearch",
    }


def _newest(path: Path) -> datetime | None:
    newest = None
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                mtime = (Path(root) / name).stat().st_mtime
            except OSError:
                continue
            newest = mtime if newest is None else max(newest, mtime)
    return None if newest is None else datetime.fromtimestamp(newest, UTC)


def held(settings: Settings) -> list[Held]:
    found = []
    for store, path in store_dirs(settings).items():
        if path.is_dir() and (newest := _newest(path)) is not None:
            found.append(Held(store, path, newest))
    return found


def prepare(settings: Settings, backup_time: datetime, force: bool) -> Path | None:
    """Raise unless the stack is empty; forced, move its data aside (returned)."""
    found = held(settings)
    if not found:
        return None
    newer = [h for h in found if h.newest > backup_time]
    lines = "\n".join(
        f"  {h.store}: {h.path} (last written {h.newest:%Y-%m-%d %H:%M:%S}Z"
        f"{', newer than the backup' if h in newer else ''})" for h in found)
    if not force:
        what = "data newer than the backup" if newer else "data"
        raise RestoreRefusedError(
            f"the stack already holds {what}; a restore would replace it:\n{lines}\n"
            "Restore into an empty stack, or stop it (make down) and pass FORCE=1 "
            "to move this data aside first.")
    aside = settings.stack_dir / f"pre-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside.mkdir(parents=True)
    for h in found:
        shutil.move(h.path, aside / h.store)  # PostgreSQL may live on another filesystem
    return aside
