"""Where backups go: the backup store's S3 endpoint, bucket and credentials.

Locally the backup store is a MinIO server of its own (store.py) whose data lives
in BACKUP_DIR (default `<repo>/.backups`), outside the stack's `.data`: losing the
stack's disk must not lose its backups. BACKUP_S3_ENDPOINT_URL names any other S3
instead (then nothing is started here).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.shared.ports import INFRA_PORTS
from stack.topology import REPO

LABEL_FORMAT = "%Y%m%dT%H%M%SZ"
DEFAULT_BUCKET = "twitter-backups"
# Local credentials of the local backup store (not the stack's media store's).
LOCAL_ACCESS_KEY = "twitter-backup"
LOCAL_SECRET_KEY = "twitter-backup-secret"  # noqa: S105 - loopback-only dev store


@dataclass(frozen=True)
class BackupSettings:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str
    region: str
    # The local store's directory; None when BACKUP_S3_ENDPOINT_URL names another S3.
    local_dir: Path | None
    port: int
    # Scratch space for downloads and snapshots on their way up or down.
    work_dir: Path

    @property
    def local(self) -> bool:
        return self.local_dir is not None

    @property
    def ca_file(self) -> Path | None:
        """The local store serves TLS (pgBackRest speaks S3 over TLS only) with a
        certificate of its own; clients trust exactly that one."""
        return self.local_dir / "certs" / "public.crt" if self.local_dir else None


def load(environ: Mapping[str, str] = os.environ) -> BackupSettings:
    port = int(environ.get("BACKUP_S3_PORT") or INFRA_PORTS["BACKUP_S3_PORT"])
    base = Path(environ.get("BACKUP_DIR") or REPO / ".backups").absolute()
    external = environ.get("BACKUP_S3_ENDPOINT_URL", "").strip()
    return BackupSettings(
        endpoint=external or f"https://127.0.0.1:{port}",
        bucket=environ.get("BACKUP_S3_BUCKET") or DEFAULT_BUCKET,
        access_key=environ.get("BACKUP_S3_ACCESS_KEY") or LOCAL_ACCESS_KEY,
        secret_key=environ.get("BACKUP_S3_SECRET_KEY") or LOCAL_SECRET_KEY,
        region=environ.get("BACKUP_S3_REGION") or "us-east-1",
        local_dir=None if external else base,
        port=port,
        work_dir=base / "work",
    )


def new_label(now: datetime | None = None) -> str:
    """A backup's label: its start time, UTC, sortable (20261206T031500Z)."""
    return (now or datetime.now(UTC)).strftime(LABEL_FORMAT)


def label_time(label: str) -> datetime:
    try:
        return datetime.strptime(label, LABEL_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{label!r} is not a backup label (like 20261206T031500Z)") from None
