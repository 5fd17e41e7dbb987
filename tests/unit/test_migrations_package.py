"""The production migration runner (services/migrations): how it finds each
service's migration files, the settings it reads, and that it runs without the
dev stack's code (the release image runs it as the migrate Job)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.migrations import __main__ as migrations_cli
from services.migrations import cql, runner, sources
from services.migrations.errors import MigrationError
from services.migrations.settings import MigrationSettings

REPO = Path(__file__).resolve().parents[2]


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_cql_scripts_come_in_service_then_version_order(tmp_path: Path) -> None:
    _write(tmp_path / "tweets/migrations/cql/0010_later.cql")
    _write(tmp_path / "tweets/migrations/cql/0002_first.cql")
    _write(tmp_path / "media/migrations/cql/0001_media.cql")
    found = [(s.service, s.version) for s in sources.cql_scripts(tmp_path)]
    assert found == [("media", 1), ("tweets", 2), ("tweets", 10)]


def test_a_cql_script_splits_into_statements_in_its_keyspace(tmp_path: Path) -> None:
    path = _write(tmp_path / "s/migrations/cql/0001_s.cql",
                  "-- a comment line, dropped\n"
                  "CREATE TABLE IF NOT EXISTS {keyspace}.a (k int PRIMARY KEY);\n"
                  "CREATE TABLE IF NOT EXISTS {keyspace}.b (\n  k int PRIMARY KEY\n);  -- done\n")
    [script] = sources.cql_scripts(tmp_path)
    assert script.path == path
    assert script.statements("ks") == [
        "CREATE TABLE IF NOT EXISTS ks.a (k int PRIMARY KEY)",
        "CREATE TABLE IF NOT EXISTS ks.b (\n  k int PRIMARY KEY\n)",
    ]


def test_a_badly_named_or_duplicate_cql_script_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "s/migrations/cql/first.cql")
    with pytest.raises(MigrationError, match=r"NNNN_description\.cql"):
        sources.cql_scripts(tmp_path)
    (tmp_path / "s/migrations/cql/first.cql").unlink()
    _write(tmp_path / "s/migrations/cql/0001_a.cql")
    _write(tmp_path / "s/migrations/cql/001_b.cql")
    with pytest.raises(MigrationError, match="share version 1"):
        sources.cql_scripts(tmp_path)


def test_two_services_cannot_ship_one_postgres_migration_name(tmp_path: Path) -> None:
    _write(tmp_path / "users/migrations/postgres/0001_init.sql")
    _write(tmp_path / "search/migrations/postgres/0002_search.sql")
    assert [s for s, _ in sources.postgres_dirs(tmp_path)] == ["search", "users"]
    _write(tmp_path / "search/migrations/postgres/0001_init.sql")
    with pytest.raises(MigrationError, match="0001_init exists in both"):
        sources.postgres_dirs(tmp_path)


def test_the_shipped_migrations_are_well_formed() -> None:
    owners = {s for s, _ in sources.postgres_dirs()}
    assert {"users", "search"} <= owners
    assert {"tweets", "messages", "media", "notifications"} <= {
        s.service for s in sources.cql_scripts()}


def test_settings_come_from_a_contract_mapping() -> None:
    settings = MigrationSettings.from_mapping({
        "PG_DSN": "postgresql://u:p@db:5432/x", "SCYLLA_HOSTS": "a, b",
        "SCYLLA_KEYSPACE": "ks", "S3_BUCKET": "media", "JAEGER_URL": "http://j"})
    assert settings.pg_dsn.get_secret_value() == "postgresql://u:p@db:5432/x"
    assert settings.host_list == ["a", "b"]
    assert (settings.scylla_keyspace, settings.s3_bucket) == ("ks", "media")


def test_an_unknown_store_is_refused_before_anything_runs() -> None:
    with pytest.raises(MigrationError, match="unknown store 'mysql'"):
        runner.apply(MigrationSettings(), ["postgres", "mysql"])


def test_a_keyspace_that_is_not_an_identifier_is_refused() -> None:
    settings = MigrationSettings(scylla_keyspace="ks; DROP KEYSPACE system")
    with pytest.raises(MigrationError, match="not a CQL identifier"):
        cql.apply(settings)


def test_the_runner_needs_none_of_the_dev_stack() -> None:
    # The release image runs it (k8s/base/migrate.yaml): importing any of its
    # modules with `stack` unimportable must work.
    code = (
        "import sys\n"
        "class NoStack:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'stack' or name.startswith('stack.'):\n"
        "            raise ImportError('the release image has no stack/')\n"
        "sys.meta_path.insert(0, NoStack())\n"
        "import services.migrations.__main__, services.migrations.postgres\n"
        "import services.migrations.cql, services.migrations.bucket\n"
        "assert not [m for m in sys.modules if m == 'stack' or m.startswith('stack.')]\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_the_command_line_names_its_options() -> None:
    out = subprocess.run([sys.executable, "-m", "services.migrations", "--help"], cwd=REPO,
                         check=True, capture_output=True, text=True).stdout
    assert "--wait-for" in out
    assert "--stores" in out


def test_bad_settings_fail_the_command_with_a_message(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SCYLLA_PORT", "not-a-port")
    assert migrations_cli.main(["--wait-for", "tweets", "--timeout", "0"]) == 1
    assert "scylla_port" in capsys.readouterr().err
