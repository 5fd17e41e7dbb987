"""PostgreSQL: yoyo applies every service's migrations, in one history table."""

from __future__ import annotations

import logging
import re

import psycopg
from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

from services.migrations import sources
from services.migrations.settings import MigrationSettings

log = logging.getLogger("migrations")
logging.getLogger("yoyo").setLevel(logging.WARNING)  # it logs every step at INFO


def yoyo_url(dsn: str) -> str:
    """yoyo's SQLAlchemy-style URL for the server that takes writes: a DSN
    listing several hosts (an HA pair) is resolved to the one libpq picks."""
    if "," in dsn.partition("@")[2].partition("/")[0]:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            host, port = conn.info.host, conn.info.port
        params = conninfo_to_dict(dsn)
        dsn = (f"postgresql://{params['user']}:{params.get('password', '')}"
               f"@{host}:{port}/{params['dbname']}")
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", dsn)


def apply(settings: MigrationSettings) -> list[str]:
    """Applies what is missing, under yoyo's lock (two runners never race);
    returns the ids it applied. Migration ids are file names, unique across
    services (sources.postgres_dirs checks)."""
    dirs = sources.postgres_dirs()
    dsn = settings.pg_dsn.get_secret_value()
    _adopt_legacy_table(dsn)
    backend = get_backend(yoyo_url(dsn))
    try:
        migrations = read_migrations(*(str(d) for _, d in dirs))
        with backend.lock():
            todo = backend.to_apply(migrations)
            if todo:
                log.info("postgres: applying %d migration(s): %s", len(todo),
                         ", ".join(m.id for m in todo))
                backend.apply_migrations(todo)
        return [m.id for m in todo]
    finally:
        backend.connection.close()


def pending(settings: MigrationSettings, service: str) -> list[str]:
    """The ids of `service`'s migrations the database does not hold yet."""
    missing: list[str] = []
    for owner, directory in sources.migration_dirs("postgres"):
        if owner != service:
            continue
        backend = get_backend(yoyo_url(settings.pg_dsn.get_secret_value()))
        try:
            missing += [m.id for m in backend.to_apply(read_migrations(str(directory)))]
        finally:
            backend.connection.close()
    return missing


def _adopt_legacy_table(dsn: str) -> None:
    """Databases made before the single migration table kept the users service's
    record in `_yoyo_migration_users`; it becomes the shared table."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        names = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename LIKE '\\_yoyo\\_migration%%'").fetchall()}
        if "_yoyo_migration_users" in names and "_yoyo_migration" not in names:
            conn.execute("ALTER TABLE _yoyo_migration_users RENAME TO _yoyo_migration")
