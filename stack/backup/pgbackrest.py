"""PostgreSQL: pgBackRest backups and continuous WAL archiving; point-in-time restores.

Why pgBackRest (Debian's package, pinned) rather than pg_basebackup plus a
hand-written archive_command: it checksums every file and checks each backup
against the cluster's system id and the WAL archive, refuses an archive that
belongs to another cluster, handles timelines and their history files on a
restore, expires old backups together with the WAL they need, and resumes an
interrupted backup. Those are the failure modes that make restores fail.

The live server archives every finished WAL segment through archive_command
(archive_settings, passed on postgres's command line by stack/postgres.py), at
the latest `archive_timeout` after a commit: that bounds what a lost disk costs
after the first backup. Until the first backup writes pgBackRest's
configuration, archive_command drops segments (there is nowhere to keep them).
"""

from __future__ import annotations

import json
import logging
import os
import pwd
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from stack import postgres
from stack.backup.settings import BackupSettings
from stack.errors import StackError
from stack.topology import Settings

log = logging.getLogger("stack")

STANZA = "twitter"
BINARY = Path("/usr/bin/pgbackrest")
DEBIAN_PACKAGE = "pgbackrest=2.45-1"
VERSION = "pgBackRest 2.45"
ARCHIVE_TIMEOUT_SECONDS = 60
RETENTION_FULL = 4
RECOVERY_TIMEOUT = 900.0


def ensure_installed() -> None:
    if not BINARY.exists():
        if os.geteuid() != 0:
            raise StackError(f"pgBackRest is missing; as root: apt-get install {DEBIAN_PACKAGE}")
        log.info("installing %s", DEBIAN_PACKAGE)
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        argv = ["apt-get", "install", "-y", "-q", "--no-install-recommends", DEBIAN_PACKAGE]
        subprocess.run(argv, env=env, check=True)  # noqa: S603 - a fixed argv
    found = subprocess.run([str(BINARY), "version"], capture_output=True, text=True,  # noqa: S603
                           check=True).stdout.strip()
    if found != VERSION:
        raise StackError(f"{found} installed; the backups are written and tested with {VERSION}")


def home(settings: Settings) -> Path:
    """pgBackRest's configuration, logs, locks and spool: beside the cluster, owned by
    its OS user (archive_command runs as that user)."""
    return postgres.data_dir(settings).parent / "pgbackrest"


def config_path(settings: Settings) -> Path:
    return home(settings) / "pgbackrest.conf"


def archive_settings(settings: Settings) -> dict[str, str]:
    conf = config_path(settings)
    push = f"{BINARY} --config={conf} --stanza={STANZA} archive-push %p"
    return {
        "archive_mode": "on",
        "archive_command": f"test ! -f {conf} || {push}",
        "archive_timeout": str(ARCHIVE_TIMEOUT_SECONDS),
    }


def s3_repo(backups: BackupSettings) -> dict[str, str]:
    url = urlsplit(backups.endpoint)
    if url.scheme != "https" or not url.hostname:
        raise StackError(f"pgBackRest needs an https S3 endpoint, not {backups.endpoint}")
    repo = {
        "repo1-type": "s3",
        "repo1-path": "/pgbackrest",
        "repo1-s3-bucket": backups.bucket,
        "repo1-s3-endpoint": url.hostname,
        "repo1-storage-port": str(url.port or 443),
        "repo1-s3-region": backups.region,
        "repo1-s3-key": backups.access_key,
        "repo1-s3-key-secret": backups.secret_key,
        "repo1-s3-uri-style": "path",
    }
    if backups.ca_file is not None:
        # The local store's certificate names localhost: pgBackRest checks DNS names,
        # not IP addresses (the store listens on 127.0.0.1, which localhost names).
        repo["repo1-storage-ca-file"] = str(backups.ca_file)
        repo["repo1-s3-endpoint"] = "localhost"
    return repo


def posix_repo(path: Path) -> dict[str, str]:
    return {"repo1-type": "posix", "repo1-path": str(path)}


def _own(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if (user := postgres.os_user()) is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def write_config(settings: Settings, repo: dict[str, str]) -> None:
    base = home(settings)
    for sub in ("", "log", "lock", "spool"):
        _own(base / sub)
    options = repo | {
        "repo1-retention-full": str(RETENTION_FULL),
        "log-path": str(base / "log"),
        "lock-path": str(base / "lock"),  # not /tmp/pgbackrest: stacks share a machine
        "spool-path": str(base / "spool"),
        "log-level-console": "warn",
        "log-level-file": "info",
        "compress-type": "lz4",
        "start-fast": "y",
        "archive-timeout": "300",
    }
    cluster = {
        "pg1-path": str(postgres.data_dir(settings)),
        "pg1-port": str(settings.ports["PG_PORT"]),
        "pg1-socket-path": str(postgres.socket_dir(settings)),
        "pg1-user": postgres.SUPERUSER,
    }
    text = "[global]\n" + "".join(f"{k}={v}\n" for k, v in options.items())
    text += f"\n[{STANZA}]\n" + "".join(f"{k}={v}\n" for k, v in cluster.items())
    path = config_path(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    if (user := postgres.os_user()) is not None:
        entry = pwd.getpwnam(user)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
    tmp.replace(path)  # archive_command starts pushing from here on


def run(settings: Settings, *args: str, timeout: float = 1800) -> str:
    argv = [str(BINARY), f"--config={config_path(settings)}", f"--stanza={STANZA}", *args]
    result = subprocess.run(argv, user=postgres.os_user(), capture_output=True, text=True,  # noqa: S603
                            cwd="/", timeout=timeout, check=False)  # fmt: skip
    if result.returncode != 0:
        raise StackError(f"pgbackrest {args[0]} failed ({result.returncode}): "
                         f"{(result.stderr or result.stdout).strip()}")
    return result.stdout


def _superuser(settings: Settings) -> psycopg.Connection[Any]:
    return psycopg.connect(host=str(postgres.socket_dir(settings)),
                           port=settings.ports["PG_PORT"], user=postgres.SUPERUSER,
                           dbname="postgres", autocommit=True, connect_timeout=10)


def backup(settings: Settings, repo: dict[str, str], kind: str = "incr") -> dict[str, Any]:
    """A backup of the running cluster; returns pgBackRest's set label and sizes."""
    ensure_installed()
    write_config(settings, repo)
    run(settings, "stanza-create")  # idempotent
    run(settings, "backup", f"--type={kind}")
    latest = info(settings)["backup"][-1]
    return {"set": latest["label"], "type": latest["type"],
            "size": latest["info"]["repository"]["delta"],
            "database_size": latest["info"]["size"],
            "start": latest["timestamp"]["start"], "stop": latest["timestamp"]["stop"]}


def seal(settings: Settings) -> None:
    """Make `now` restorable: a commit after it (recovery to a time stops at the first
    commit past the target, and fails if there is none) and its WAL segment archived
    (`pgbackrest check` switches WAL and waits for it in the repository)."""
    with _superuser(settings) as conn, conn.transaction():
        conn.execute("SELECT pg_current_xact_id()")
    run(settings, "check")


def info(settings: Settings) -> dict[str, Any]:
    stanzas: list[dict[str, Any]] = json.loads(run(settings, "info", "--output=json"))
    found = [s for s in stanzas if s["name"] == STANZA]
    if not found or not found[0]["backup"]:
        raise StackError("pgBackRest holds no backup of this cluster")
    return found[0]


def restore(settings: Settings, repo: dict[str, str], backup_set: str, target: datetime) -> None:
    """Restore backup_set into the (absent or empty) data directory, replay archived WAL
    up to target, promote, and stop again: the next start is an ordinary one."""
    ensure_installed()
    data = postgres.data_dir(settings)
    if data.exists() and any(data.iterdir()):
        raise StackError(f"{data} is not empty: a restore needs an empty data directory")
    postgres.init_dirs(settings)
    write_config(settings, repo)
    stamp = target.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00")
    run(settings, "restore", f"--set={backup_set}", "--type=time", f"--target={stamp}",
        "--target-action=promote")
    _recover(settings)


def _recover(settings: Settings) -> None:
    logfile = home(settings) / "log" / "recovery.log"
    with logfile.open("ab") as out:
        server = subprocess.Popen(postgres.server_argv(settings), user=postgres.os_user(),  # noqa: S603
                                  cwd=postgres.data_dir(settings), stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while True:
            if server.poll() is not None:
                tail = logfile.read_text(errors="replace").splitlines()[-15:]
                raise StackError("PostgreSQL stopped during recovery:\n" + "\n".join(tail))
            if time.monotonic() > deadline:
                raise StackError(f"recovery not finished after {RECOVERY_TIMEOUT:.0f}s")
            try:
                with _superuser(settings) as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                if row is not None and not row[0]:
                    return
            except psycopg.OperationalError:
                pass  # still starting, or replaying before it is consistent
            time.sleep(0.5)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGINT)  # fast shutdown
            server.wait(timeout=120)
