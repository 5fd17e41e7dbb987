"""Schema migrations: yoyo for PostgreSQL, a small versioned runner for CQL.

`pending` and `wait_for` tell whether a service's stores hold every migration
this copy of the code ships: in Kubernetes a service's pod waits for them in an
initContainer (`python -m stack migrate --wait-for users`) while the release's
migration Job runs, instead of crash-looping on a missing table.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack import probes
from stack.errors import StackError
from stack.topology import SERVICES_DIR

log = logging.getLogger("stack")
logging.getLogger("yoyo").setLevel(logging.WARNING)  # it logs every step at INFO

CQL_SCRIPT = re.compile(r"(\d+)_\w+\.cql")
# A statement ends with ';' at the end of a line (an optional trailing -- comment allowed).
STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?$", re.MULTILINE)
IDENTIFIER = re.compile(r"[A-Za-z_]\w{0,47}")
# Three Cassandra nodes on a busy 2-core machine (TOPOLOGY=ha) took over 30 s
# to agree on a new keyspace.
SCHEMA_AGREEMENT_WAIT = 120.0


def _yoyo_url(dsn: str) -> str:
    """yoyo's SQLAlchemy-style URL for the server that takes writes: a DSN
    listing several hosts (TOPOLOGY=ha) is resolved to the one libpq picks."""
    if "," in dsn.partition("@")[2].partition("/")[0]:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict

        with psycopg.connect(dsn, connect_timeout=10) as conn:
            host, port = conn.info.host, conn.info.port
        params = conninfo_to_dict(dsn)
        dsn = (f"postgresql://{params['user']}:{params.get('password', '')}"
               f"@{host}:{port}/{params['dbname']}")
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", dsn)


def _migration_dirs(kind: str) -> list[tuple[str, Path]]:
    return [(d.parent.parent.name, d) for d in sorted(SERVICES_DIR.glob(f"*/migrations/{kind}"))]


def postgres(env: Mapping[str, str]) -> None:
    """Applies every service's PostgreSQL migrations with yoyo, in one migration
    table (yoyo cannot keep several in one schema); migration ids are the file
    names, so they must be unique across services (e.g. 0001_users, 0001_search)."""
    from yoyo import get_backend, read_migrations

    dirs = _migration_dirs("postgres")
    owners: dict[str, str] = {}
    for service, directory in dirs:
        for path in directory.glob("*.sql"):
            if path.stem in owners:
                raise StackError(f"migration {path.stem} exists in both {owners[path.stem]}"
                                 f" and {service}: name migrations <NNNN>_<service>_...")
            owners[path.stem] = service
    url = _yoyo_url(env["PG_DSN"])
    _adopt_legacy_table(env["PG_DSN"])
    backend = get_backend(url)
    migrations = read_migrations(*(str(d) for _, d in dirs))
    with backend.lock():
        pending = backend.to_apply(migrations)
        if pending:
            log.info("postgres: applying %d migration(s): %s", len(pending),
                     ", ".join(m.id for m in pending))
            backend.apply_migrations(pending)


def _adopt_legacy_table(dsn: str) -> None:
    """Stacks made before the single migration table kept the users service's
    record in `_yoyo_migration_users`; it becomes the shared table."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        names = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename LIKE '\\_yoyo\\_migration%%'").fetchall()}
        if "_yoyo_migration_users" in names and "_yoyo_migration" not in names:
            conn.execute("ALTER TABLE _yoyo_migration_users RENAME TO _yoyo_migration")


@dataclass(frozen=True)
class CqlScript:
    service: str
    version: int
    path: Path

    def statements(self, keyspace: str) -> list[str]:
        lines = [
            ln for ln in self.path.read_text().splitlines() if not ln.lstrip().startswith("--")
        ]
        text = "\n".join(lines).replace("{keyspace}", keyspace)
        return [s.strip() for s in STATEMENT_END.split(text) if s.strip()]


def cql_scripts() -> list[CqlScript]:
    scripts = []
    for service, directory in _migration_dirs("cql"):
        seen: dict[int, Path] = {}
        for path in sorted(directory.glob("*.cql")):
            match = CQL_SCRIPT.fullmatch(path.name)
            if not match:
                raise StackError(f"{path}: name must be NNNN_description.cql")
            version = int(match[1])
            if version in seen:
                raise StackError(f"{path} and {seen[version]} share version {version}")
            seen[version] = path
            scripts.append(CqlScript(service, version, path))
    return sorted(scripts, key=lambda s: (s.service, s.version))


def _apply(session: Any, statement: str) -> None:
    session.execute(statement, timeout=60)
    # Later statements and other clients must see the new schema on every node.
    if not session.wait_for_schema_agreement(wait_time=SCHEMA_AGREEMENT_WAIT):
        raise StackError(f"no schema agreement after: {statement[:80]}")


def cql(env: Mapping[str, str]) -> None:
    keyspace = env["SCYLLA_KEYSPACE"]
    if not IDENTIFIER.fullmatch(keyspace):
        raise StackError(f"SCYLLA_KEYSPACE={keyspace!r} is not a CQL identifier")
    with probes.cql_session(env, timeout=10) as session:
        _apply(
            session,
            f"CREATE KEYSPACE IF NOT EXISTS {keyspace} "
            f"WITH replication = {env['SCYLLA_REPLICATION']}",
        )
        _apply(
            session,
            f"CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations ("
            "service text, version int, applied_at timestamp, "
            "PRIMARY KEY (service, version))",
        )
        applied = {
            (row.service, row.version)
            for row in session.execute(
                f"SELECT service, version FROM {keyspace}.schema_migrations"  # noqa: S608 (checked identifier)
            )
        }
        for script in cql_scripts():
            if (script.service, script.version) in applied:
                continue
            log.info("cql: %s: applying %s", script.service, script.path.name)
            for statement in script.statements(keyspace):
                try:
                    _apply(session, statement)
                except Exception as exc:
                    # CQL DDL is not transactional: scripts should use IF NOT EXISTS so
                    # that a rerun after a fix gets past what was already applied.
                    raise StackError(f"{script.path}: {exc}\n{statement}") from exc
            session.execute(
                f"INSERT INTO {keyspace}.schema_migrations (service, version, applied_at) "  # noqa: S608
                "VALUES (%s, %s, toTimestamp(now()))",
                (script.service, script.version),
            )


def _pending_postgres(env: Mapping[str, str], directory: Path) -> list[str]:
    from yoyo import get_backend, read_migrations

    backend = get_backend(_yoyo_url(env["PG_DSN"]))
    try:
        return [m.id for m in backend.to_apply(read_migrations(str(directory)))]
    finally:
        backend.connection.close()


def _pending_cql(env: Mapping[str, str], service: str) -> list[str]:
    keyspace = env["SCYLLA_KEYSPACE"]
    if not IDENTIFIER.fullmatch(keyspace):
        raise StackError(f"SCYLLA_KEYSPACE={keyspace!r} is not a CQL identifier")
    with probes.cql_session(env, timeout=10) as session:
        applied = {row.version for row in session.execute(
            f"SELECT version FROM {keyspace}.schema_migrations WHERE service = %s",  # noqa: S608 (checked identifier)
            (service,))}
    return [s.path.name for s in cql_scripts() if s.service == service and s.version not in applied]


def pending(env: Mapping[str, str], service: str) -> list[str]:
    """The migrations of `service` that its stores do not hold yet."""
    missing: list[str] = []
    for owner, directory in _migration_dirs("postgres"):
        if owner == service:
            missing += _pending_postgres(env, directory)
    if any(s.service == service for s in cql_scripts()):
        missing += _pending_cql(env, service)
    return missing


def wait_for(env: Mapping[str, str], service: str, *, timeout: float,
             interval: float = 5.0) -> None:
    """Returns once `service`'s stores hold its migrations; StackError after
    `timeout` seconds. A store that cannot answer yet (down, no keyspace, no
    history table) counts as not migrated."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            missing = pending(env, service)
        except StackError:
            raise
        except Exception as exc:  # any store error means "not yet"
            missing = [f"(stores not ready: {type(exc).__name__}: {exc})"]
        if not missing:
            log.info("%s: schema up to date", service)
            return
        if time.monotonic() >= deadline:
            raise StackError(f"{service}: migrations still missing after {timeout:.0f} s: "
                             + ", ".join(missing))
        log.info("%s: waiting for migrations: %s", service, ", ".join(missing))
        time.sleep(interval)
