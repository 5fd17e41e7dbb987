"""The local PostgreSQL cluster: initdb, its server command line, role/database bootstrap."""

from __future__ import annotations

import functools
import hashlib
import os
import pwd
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from stack import topology
from stack.contract import PG_DATABASE, PG_PASSWORD, PG_USER
from stack.errors import StackError
from stack.install import POSTGRES_BIN
from stack.topology import Settings

SUPERUSER = "postgres"
EXTENSIONS = ("pg_trgm", "citext")
# A Unix socket path must fit sockaddr_un.sun_path (108 bytes on Linux), with room to spare.
MAX_SOCKET_PATH = 100
# Small enough for a 2-core dev box, large enough for seven services' pools and tests.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "effective_cache_size": "512MB",
    "work_mem": "4MB",
    "maintenance_work_mem": "64MB",
    "max_wal_size": "512MB",
    "logging_collector": "off",  # stderr goes to the supervisor log
}


def os_user() -> str | None:
    """PostgreSQL refuses to run as root, so root runs it as the `postgres` system user."""
    return SUPERUSER if os.geteuid() == 0 else None


@functools.cache
def _home(stack_dir: Path) -> Path:
    """Where PostgreSQL's files live: inside STACK_DIR when the `postgres` user can
    reach it; otherwise (a clone under /root, say) a per-clone folder in /var/tmp."""
    user = os_user()
    if user is None:
        return stack_dir
    stack_dir.mkdir(parents=True, exist_ok=True)
    reachable = subprocess.run(["test", "-x", str(stack_dir)], user=user,  # noqa: S603,S607
                               check=False).returncode == 0
    if reachable:
        return stack_dir
    digest = hashlib.sha256(str(stack_dir).encode()).hexdigest()[:12]
    fallback = Path("/var/tmp/twitter-mesh") / digest  # noqa: S108 - root-owned parent
    fallback.mkdir(parents=True, exist_ok=True)
    fallback.parent.chmod(0o755)
    fallback.chmod(0o755)
    return fallback


def home(settings: Settings) -> Path:
    """The folder holding the data, socket and (TOPOLOGY=ha) role files."""
    return _home(settings.stack_dir)


def data_dir(settings: Settings, node: str = "postgres") -> Path:
    """A node's data directory; "postgres" is the only node but under TOPOLOGY=ha."""
    return _home(settings.stack_dir) / node


def socket_dir(settings: Settings) -> Path:
    return _home(settings.stack_dir) / "sockets"


def _own(path: Path, user: str | None) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init_dirs(settings: Settings) -> None:
    """The data and socket directories, owned by the server's OS user."""
    sock = socket_dir(settings) / f".s.PGSQL.{settings.ports['PG_PORT']}"
    if len(str(sock)) > MAX_SOCKET_PATH:
        raise StackError(f"socket path {sock} is too long; use a shorter STACK_DIR")
    for path in (data_dir(settings), socket_dir(settings)):
        _own(path, os_user())
    if settings.ha:  # the standby's folder: pg_basebackup fills it (stack/pg_ha.py)
        _own(data_dir(settings, "postgres-2"), os_user())


def init(settings: Settings) -> None:
    data, user = data_dir(settings), os_user()
    init_dirs(settings)
    if (data / "PG_VERSION").exists():
        return
    argv = [
        str(POSTGRES_BIN / "initdb"),
        f"--pgdata={data}",
        f"--username={SUPERUSER}",
        "--auth-local=trust",  # only via the 0700 socket dir: postgres and root
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-instructions",
        # pg_rewind (TOPOLOGY=ha, stack/pg_ha.py) needs checksums or wal_log_hints.
        *(["--data-checksums"] if settings.ha else []),
    ]
    result = subprocess.run(  # noqa: S603 (fixed argv)
        argv, user=user, cwd=data, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(
            f"initdb failed:\n{result.stderr.strip()}\n"
            f"(the {user or 'current'} user must be able to reach {data})"
        )


# TOPOLOGY=ha: a streaming standby, and a crashed primary that can be rewound
# to follow the promoted one (pg_rewind needs hint bits WAL-logged).
HA_SETTINGS = {"wal_log_hints": "on", "wal_keep_size": "256MB", "hot_standby": "on"}


def server_argv(settings: Settings, node: str = "postgres") -> list[str]:
    port = dict(topology.postgres_nodes(settings))[node]
    argv = [
        str(POSTGRES_BIN / "postgres"),
        "-D", str(data_dir(settings, node)),
        "-p", str(port),
        "-k", str(socket_dir(settings)),
    ]  # fmt: skip
    # WAL archiving to the backup store (stack/backup/pgbackrest.py).
    from stack.backup import pgbackrest  # noqa: PLC0415 - it imports this module

    extra = HA_SETTINGS if settings.ha else {}
    for key, value in (SETTINGS | extra | pgbackrest.archive_settings(settings)).items():
        argv += ["-c", f"{key}={value}"]
    return argv


def _superuser(settings: Settings, dbname: str, timeout: float,
               port: int | None = None) -> psycopg.Connection[TupleRow]:
    return psycopg.connect(
        host=str(socket_dir(settings)),
        port=port or primary_port(settings),
        user=SUPERUSER,
        dbname=dbname,
        autocommit=True,
        connect_timeout=max(1, round(timeout)),
    )


def superuser(settings: Settings, port: int, timeout: float) -> psycopg.Connection[TupleRow]:
    """A superuser session on one node, over its Unix socket."""
    return _superuser(settings, "postgres", timeout, port)


def primary_port(settings: Settings) -> int:
    """The node that takes writes: the only one, or under TOPOLOGY=ha the one the
    role file names (stack/pg_ha.py)."""
    if not settings.ha:
        return settings.ports["PG_PORT"]
    from stack import pg_ha  # noqa: PLC0415 - it imports this module

    return pg_ha.primary(settings)[1]


def ping_superuser(settings: Settings, timeout: float) -> str:
    """Readiness before the application role exists."""
    with _superuser(settings, "postgres", timeout) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


def bootstrap(settings: Settings) -> None:
    """Create the application role, database and extensions if missing."""
    role, db = sql.Identifier(PG_USER), sql.Identifier(PG_DATABASE)
    with _superuser(settings, "postgres", 10) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PG_USER,)).fetchone():
            # password_encryption defaults to scram-sha-256 since PostgreSQL 14.
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(role, sql.Literal(PG_PASSWORD))
            )
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)
        ).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, role))
    with _superuser(settings, PG_DATABASE, 10) as conn:
        for ext in EXTENSIONS:
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))
