"""Cassandra: per-keyspace snapshots, uploaded file by file; restores by `nodetool import`.

A snapshot hard-links the table's SSTables after a flush. SSTables never change once
written, and a table directory never reuses an SSTable's name, so a file already in
the backup store under its keyspace, table directory and name is the same file:
each backup uploads only the SSTables written since the previous one (an incremental
upload; each label's manifest still lists its complete set).

A restore imports the files into the tables the CQL migrations created on the empty
node (`nodetool import`, which checks and renames them), so table ids need not match.
The keyspaces are the application's: every one outside Cassandra's own.
"""

from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path
from typing import Any

from stack.backup import store
from stack.backup.settings import BackupSettings
from stack.errors import StackError
from stack.topology import REPO, Settings

log = logging.getLogger("stack")
SYSTEM_KEYSPACES = re.compile(r"^system(_.*)?$")
PREFIX = "cassandra/sstables"


def _home(settings: Settings) -> Path:
    script = (REPO / "stack/install/cassandra.sh").read_text()
    match = re.search(r'^CASSANDRA_VERSION="([^"]+)"', script, re.MULTILINE)
    if not match:
        raise StackError("CASSANDRA_VERSION not found in stack/install/cassandra.sh")
    return settings.cache_dir / f"cassandra-{match.group(1)}"


def data_dir(settings: Settings) -> Path:
    return settings.stack_dir / "cassandra" / "data"


def _module_flags() -> list[str]:
    """The server's --add-exports/--add-opens (stack/cassandra/jvm17.options): nodetool
    loads the same classes on Java 17."""
    lines = (REPO / "stack/cassandra/jvm17.options").read_text().splitlines()
    return [word for line in lines if line.startswith("--add-") for word in line.split()]


def nodetool(settings: Settings, *args: str) -> str:
    lib = _home(settings) / "lib"
    argv = ["java", "-Xmx128m", *_module_flags(), "-cp", f"{lib}/*",
            "org.apache.cassandra.tools.NodeTool",
            "-h", "127.0.0.1", "-p", str(settings.ports["CASSANDRA_JMX_PORT"]), *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False,  # noqa: S603
                            timeout=1800)  # fmt: skip
    if result.returncode != 0:
        raise StackError(f"nodetool {' '.join(args)} failed: "
                         f"{(result.stderr or result.stdout).strip()[-2000:]}")
    return result.stdout


def keyspaces(settings: Settings) -> list[str]:
    return sorted(p.name for p in data_dir(settings).iterdir()
                  if p.is_dir() and not SYSTEM_KEYSPACES.match(p.name))


def backup(settings: Settings, backups: BackupSettings, label: str) -> dict[str, Any]:
    spaces = keyspaces(settings)
    nodetool(settings, "snapshot", "-t", label, "--", *spaces)  # flushes first
    s3 = store.client(backups)
    stored = store.existing_keys(backups, PREFIX + "/")
    tables: dict[str, dict[str, list[str]]] = {}
    total = uploaded = 0
    try:
        for space in spaces:
            for table_dir in sorted((data_dir(settings) / space).iterdir()):
                snap = table_dir / "snapshots" / label
                if not snap.is_dir():
                    continue
                table = table_dir.name.rsplit("-", 1)[0]
                keys = []
                for file in sorted(p for p in snap.rglob("*") if p.is_file()):
                    rel = file.relative_to(snap).as_posix()
                    if rel in ("manifest.json", "schema.cql"):
                        key = f"cassandra/{label}/{space}/{table}/{rel}"  # per snapshot
                    else:
                        key = f"{PREFIX}/{space}/{table_dir.name}/{rel}"
                    size = file.stat().st_size
                    total += size
                    if stored.get(key) != size:
                        s3.upload_file(str(file), backups.bucket, key)
                        uploaded += size
                    keys.append(key)
                tables.setdefault(space, {})[table] = keys
    finally:
        nodetool(settings, "clearsnapshot", "-t", label, "--", *spaces)
    return {"tables": tables, "size": total, "uploaded": uploaded}


def restore(settings: Settings, backups: BackupSettings, part: dict[str, Any],
            staging: Path) -> int:
    """Import every table's files into the running node; returns the files imported."""
    s3 = store.client(backups)
    count = 0
    for space, tables in part["tables"].items():
        for table, keys in tables.items():
            sstables = [k for k in keys if not k.endswith(("/manifest.json", "/schema.cql"))]
            if not sstables:
                continue
            target = staging / space / table
            target.mkdir(parents=True, exist_ok=True)
            for key in sstables:
                # Index components (SAI, 2i) keep their sub-directory.
                rel = key.split("/", 4)[4]
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(backups.bucket, key, str(target / rel))
            nodetool(settings, "import", space, table, str(target))
            count += len(sstables)
    return count
