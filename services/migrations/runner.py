"""Apply, or wait for, the migrations of the configured stores.

Each store's module (and its driver) is imported only when that store is
migrated: a pod waiting for a CQL service's schema never loads yoyo.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from services.migrations.errors import MigrationError
from services.migrations.settings import MigrationSettings

log = logging.getLogger("migrations")

# What `python -m services.migrations` applies unless told otherwise: the
# schemas. The bucket is the local stack's (bucket.py says why).
STORES = ("postgres", "cql", "bucket")
SCHEMAS = ("postgres", "cql")


def _applier(store: str) -> Callable[[MigrationSettings], list[str]]:
    match store:
        case "postgres":
            from services.migrations import postgres

            return postgres.apply
        case "cql":
            from services.migrations import cql

            return cql.apply
        case "bucket":
            from services.migrations import bucket

            return bucket.ensure
    raise MigrationError(f"unknown store {store!r} (one of {', '.join(STORES)})")


def apply(settings: MigrationSettings, stores: Iterable[str] = SCHEMAS) -> list[str]:
    """Applies every missing migration of `stores`, in order; returns what it applied."""
    appliers = [(store, _applier(store)) for store in stores]  # unknown names fail first
    done: list[str] = []
    for store, run in appliers:
        applied = run(settings)
        log.info("%s: %s", store, f"applied {', '.join(applied)}" if applied else "up to date")
        done += applied
    return done


def pending(settings: MigrationSettings, service: str) -> list[str]:
    """The migrations of `service` that its stores do not hold yet."""
    from services.migrations import sources

    missing: list[str] = []
    if any(owner == service for owner, _ in sources.migration_dirs("postgres")):
        from services.migrations import postgres

        missing += postgres.pending(settings, service)
    if any(s.service == service for s in sources.cql_scripts()):
        from services.migrations import cql

        missing += cql.pending(settings, service)
    return missing


def wait_for(settings: MigrationSettings, service: str, *, timeout: float,
             interval: float = 5.0) -> None:
    """Returns once `service`'s stores hold its migrations; MigrationError after
    `timeout` seconds. A store that cannot answer yet (down, no keyspace, no
    history table) counts as not migrated."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            missing = pending(settings, service)
        except MigrationError:
            raise
        except Exception as exc:  # any store error means "not yet"
            missing = [f"(stores not ready: {type(exc).__name__}: {exc})"]
        if not missing:
            log.info("%s: schema up to date", service)
            return
        if time.monotonic() >= deadline:
            raise MigrationError(f"{service}: migrations still missing after {timeout:.0f} s: "
                                 + ", ".join(missing))
        log.info("%s: waiting for migrations: %s", service, ", ".join(missing))
        time.sleep(interval)
