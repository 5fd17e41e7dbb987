"""A service's pod waits for its migrations (python -m stack migrate --wait-for):
against the stack's real PostgreSQL and Cassandra, a migrated store is ready at
once and a store without the schema is reported, then times out."""

from __future__ import annotations

import time

import psycopg
import pytest

from stack import migrate
from stack.errors import StackError
from stack.topology import SERVICES_DIR


def test_the_migrated_stack_needs_nothing(stack_env: dict[str, str]) -> None:
    for service in ("users", "search", "tweets", "messages", "media", "timeline"):
        assert migrate.pending(stack_env, service) == []
    migrate.wait_for(stack_env, "tweets", timeout=0)


def test_a_keyspace_without_the_schema_is_waited_for(stack_env: dict[str, str]) -> None:
    env = stack_env | {"SCYLLA_KEYSPACE": "never_migrated"}
    scripts = [s.path.name for s in migrate.cql_scripts() if s.service == "tweets"]
    assert scripts
    with pytest.raises(Exception, match="never_migrated"):
        migrate.pending(env, "tweets")  # no keyspace, no history table
    started = time.monotonic()
    with pytest.raises(StackError, match="tweets: migrations still missing after"):
        migrate.wait_for(env, "tweets", timeout=0.3, interval=0.1)
    assert time.monotonic() - started < 15


def test_a_database_missing_a_migration_lists_it(stack_env: dict[str, str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # An empty schema first on the search path: yoyo's history is not there.
    with psycopg.connect(stack_env["PG_DSN"], autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS wait_test_empty")
    monkeypatch.setenv("PGOPTIONS", "-c search_path=wait_test_empty")
    try:
        missing = migrate.pending(stack_env, "users")
    finally:
        monkeypatch.delenv("PGOPTIONS")
        with psycopg.connect(stack_env["PG_DSN"], autocommit=True) as conn:
            conn.execute("DROP SCHEMA wait_test_empty CASCADE")
    shipped = sorted(p.stem for p in (SERVICES_DIR / "users" / "migrations"
                                     / "postgres").glob("*.sql"))
    assert missing == shipped
