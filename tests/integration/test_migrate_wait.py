"""A service's pod waits for its migrations (python -m services.migrations
--wait-for): against the stack's real PostgreSQL and Cassandra, a migrated store
is ready at once and a store without the schema is reported, then times out;
applying again is a no-op."""

from __future__ import annotations

import time

import psycopg
import pytest

from services.migrations import runner, sources
from services.migrations.errors import MigrationError
from services.migrations.settings import MigrationSettings


@pytest.fixture
def settings(stack_env: dict[str, str]) -> MigrationSettings:
    return MigrationSettings.from_mapping(stack_env)


def test_the_migrated_stack_needs_nothing(settings: MigrationSettings) -> None:
    for service in ("users", "search", "tweets", "messages", "media", "timeline"):
        assert runner.pending(settings, service) == []
    runner.wait_for(settings, "tweets", timeout=0)
    assert runner.apply(settings, ["postgres", "cql", "bucket"]) == []  # all applied already


def test_a_keyspace_without_the_schema_is_waited_for(stack_env: dict[str, str]) -> None:
    settings = MigrationSettings.from_mapping(stack_env | {"SCYLLA_KEYSPACE": "never_migrated"})
    scripts = [s.path.name for s in sources.cql_scripts() if s.service == "tweets"]
    assert scripts
    with pytest.raises(Exception, match="never_migrated"):
        runner.pending(settings, "tweets")  # no keyspace, no history table
    started = time.monotonic()
    with pytest.raises(MigrationError, match="tweets: migrations still missing after"):
        runner.wait_for(settings, "tweets", timeout=0.3, interval=0.1)
    assert time.monotonic() - started < 15


def test_a_database_missing_a_migration_lists_it(settings: MigrationSettings,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = settings.pg_dsn.get_secret_value()
    # An empty schema first on the search path: yoyo's history is not there.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS wait_test_empty")
    monkeypatch.setenv("PGOPTIONS", "-c search_path=wait_test_empty")
    try:
        missing = runner.pending(settings, "users")
    finally:
        monkeypatch.delenv("PGOPTIONS")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA wait_test_empty CASCADE")
    shipped = sorted(p.stem for p in (sources.SERVICES_DIR / "users" / "migrations"
                                     / "postgres").glob("*.sql"))
    assert missing == shipped
