"""The migration files each service ships, found next to its code:
services/<service>/migrations/postgres/*.sql and .../cql/NNNN_description.cql."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from services.migrations.errors import MigrationError

SERVICES_DIR = Path(__file__).resolve().parents[1]
CQL_SCRIPT = re.compile(r"(\d+)_\w+\.cql")
# A statement ends with ';' at the end of a line (an optional trailing -- comment allowed).
STATEMENT_END = re.compile(r";[ \t]*(?:--[^\n]*)?$", re.MULTILINE)


def migration_dirs(kind: str, services_dir: Path = SERVICES_DIR) -> list[tuple[str, Path]]:
    """(service, directory) of every service with migrations of this kind."""
    return [(d.parent.parent.name, d)
            for d in sorted(services_dir.glob(f"*/migrations/{kind}"))]


def postgres_dirs(services_dir: Path = SERVICES_DIR) -> list[tuple[str, Path]]:
    """yoyo keeps every service's migrations in one history table, keyed by file
    name: a name shipped by two services would be applied for only one of them."""
    dirs = migration_dirs("postgres", services_dir)
    owners: dict[str, str] = {}
    for service, directory in dirs:
        for path in directory.glob("*.sql"):
            if path.stem in owners:
                raise MigrationError(
                    f"migration {path.stem} exists in both {owners[path.stem]} and {service}:"
                    " name migrations <NNNN>_<service>_...")
            owners[path.stem] = service
    return dirs


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


def cql_scripts(services_dir: Path = SERVICES_DIR) -> list[CqlScript]:
    """Every service's CQL scripts, in (service, version) order."""
    scripts = []
    for service, directory in migration_dirs("cql", services_dir):
        seen: dict[int, Path] = {}
        for path in sorted(directory.glob("*.cql")):
            match = CQL_SCRIPT.fullmatch(path.name)
            if not match:
                raise MigrationError(f"{path}: name must be NNNN_description.cql")
            version = int(match[1])
            if version in seen:
                raise MigrationError(f"{path} and {seen[version]} share version {version}")
            seen[version] = path
            scripts.append(CqlScript(service, version, path))
    return sorted(scripts, key=lambda s: (s.service, s.version))
