"""A restore goes into an empty stack (stack/backup/guard.py): a stack that holds
data, newer than the backup or not, is refused unless forced, and forced, its
data is moved aside, never deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stack.backup import guard
from stack.backup import settings as backup_settings
from tests.support import scratch_postgres


def test_a_stack_with_newer_data_is_refused_unless_forced() -> None:
    with scratch_postgres.scratch_dir() as base:
        settings = scratch_postgres.settings_for(base)
        assert guard.prepare(settings, datetime.now(UTC), force=False) is None  # empty
        stream = settings.stack_dir / "nats" / "jetstream" / "TWITTER" / "msgs" / "1.blk"
        stream.parent.mkdir(parents=True)
        stream.write_bytes(b"events written after the backup")
        backup_time = datetime.now(UTC) - timedelta(hours=1)

        with pytest.raises(guard.RestoreRefusedError, match="newer than the backup") as err:
            guard.prepare(settings, backup_time, force=False)
        assert "FORCE=1" in str(err.value)
        assert stream.read_bytes() == b"events written after the backup"  # untouched

        aside = guard.prepare(settings, backup_time, force=True)
        assert aside is not None
        assert (aside / "nats" / "jetstream" / "TWITTER" / "msgs" / "1.blk").read_bytes() \
            == b"events written after the backup"
        assert guard.held(settings) == []  # now empty: the restore may proceed


def test_labels_are_times() -> None:
    at = datetime(2026, 12, 6, 3, 15, tzinfo=UTC)
    assert backup_settings.new_label(at) == "20261206T031500Z"
    assert backup_settings.label_time("20261206T031500Z") == at
    with pytest.raises(ValueError, match="not a backup label"):
        backup_settings.label_time("yesterday")
