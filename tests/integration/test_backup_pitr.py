"""PostgreSQL point-in-time restore with pgBackRest (stack/backup/pgbackrest.py), on
a throwaway cluster of its own, with WAL archived by the server's own
archive_command: a restore to a moment between two commits has the first and
not the second, and the restored server is an ordinary primary again."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from stack import postgres, topology
from stack.backup import pgbackrest
from stack.errors import StackError
from tests.support import scratch_postgres


@pytest.fixture
def cluster() -> Iterator[topology.Settings]:
    pgbackrest.ensure_installed()
    with scratch_postgres.scratch_dir() as base:
        settings = scratch_postgres.settings_for(base)
        postgres.init(settings)
        yield settings


def _rows(settings: topology.Settings) -> list[str]:
    with scratch_postgres.connect(settings) as conn:
        return [r[0] for r in conn.execute("SELECT v FROM drill ORDER BY v").fetchall()]


def test_restore_to_a_point_in_time(cluster: topology.Settings) -> None:
    repo_dir = cluster.stack_dir / "repo"
    pgbackrest._own(repo_dir)  # the repository belongs to PostgreSQL's OS user
    repo = pgbackrest.posix_repo(repo_dir)
    with scratch_postgres.running(cluster):
        with scratch_postgres.connect(cluster) as conn:
            conn.execute("CREATE TABLE drill (v text PRIMARY KEY)")
            conn.execute("INSERT INTO drill VALUES ('before the backup')")
        taken = pgbackrest.backup(cluster, repo, kind="full")
        with scratch_postgres.connect(cluster) as conn:
            conn.execute("INSERT INTO drill VALUES ('after the backup')")
            row = conn.execute("SELECT clock_timestamp()").fetchone()
            assert row is not None
            target: datetime = row[0]
            conn.execute("INSERT INTO drill VALUES ('after the target')")
        assert len(_rows(cluster)) == 3
        pgbackrest.seal(cluster)  # the WAL holding all three is archived

    shutil.rmtree(postgres.data_dir(cluster))  # the disk is lost
    pgbackrest.restore(cluster, repo, taken["set"], target)

    with scratch_postgres.running(cluster):
        assert _rows(cluster) == ["after the backup", "before the backup"]
        with scratch_postgres.connect(cluster) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            assert row == (False,)
            conn.execute("INSERT INTO drill VALUES ('written after the restore')")


def test_restore_needs_an_empty_data_directory(cluster: topology.Settings) -> None:
    """pgBackRest would refuse too; ours says so before touching anything."""
    marker = postgres.data_dir(cluster) / "PG_VERSION"
    assert marker.exists()
    with pytest.raises(StackError, match="not empty"):
        pgbackrest.restore(cluster, pgbackrest.posix_repo(Path("/nonexistent")), "x",
                           datetime.now())
    assert marker.exists()
