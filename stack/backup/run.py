"""`make backup` and `make restore`: every store, one label, one manifest.

Consistency across stores: a label is named after the moment its backup started,
and every store's copy is taken after that moment, so each holds every write
acknowledged before it. Events travel from outboxes (PostgreSQL's, Cassandra's)
through the stream to consumers that store their effects (Cassandra, PostgreSQL),
so the order of the copies matters:
- the consumers' ack floors are read first, and a restore rewinds each consumer to
  its floor: whatever was handled after the backup began is handled again (every
  handler is idempotent), so no ack in the stream's copy stands for an effect a
  store's copy lacks;
- the stream's snapshot is taken after Cassandra's, and PostgreSQL is restored to
  the moment that snapshot began (`pgbackrest.seal` makes it restorable): an
  outbox entry missing from a store's copy was published before the snapshot.
TIME= moves PostgreSQL alone to another moment after the end of its copy (for a
PostgreSQL-only mistake); the other stores stay at the backup's point.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stack import contract, topology
from stack.backup import cassandra, guard, jetstream, media, pgbackrest, store
from stack.backup import settings as backup_settings
from stack.down import down
from stack.errors import StackError
from stack.supervisor import Supervisor
from stack.up import up

log = logging.getLogger("stack")


def _manifest_key(label: str) -> str:
    return f"labels/{label}.json"


def backup() -> dict[str, Any]:
    settings = topology.load()
    env = contract.build(settings)
    backups = backup_settings.load()
    store.ensure_running(backups)
    started_at = datetime.now(UTC)
    label = backup_settings.new_label(started_at)
    work = backups.work_dir / label
    work.mkdir(parents=True, exist_ok=True)
    try:
        floors = asyncio.run(jetstream.ack_floors(env["NATS_URL"]))
        log.info("backup %s: postgres (pgBackRest)", label)
        pg = pgbackrest.backup(settings, pgbackrest.s3_repo(backups))
        log.info("backup %s: cassandra (snapshot)", label)
        cql = cassandra.backup(settings, backups, label)
        log.info("backup %s: jetstream (stream snapshot)", label)
        snap = work / "stream.tar.s2"
        consistent_at = datetime.now(UTC)  # PostgreSQL's default restore point
        meta = asyncio.run(jetstream.snapshot(env["NATS_URL"], snap))
        s3 = store.client(backups)
        s3.upload_file(str(snap), backups.bucket, f"jetstream/{label}/stream.tar.s2")
        js = {"key": f"jetstream/{label}/stream.tar.s2", "meta": meta, "floors": floors,
              "size": snap.stat().st_size}
        log.info("backup %s: media objects", label)
        objects = media.backup(env, backups)
        finished_at = datetime.now(UTC)
        pgbackrest.seal(settings)  # consistent_at is now a restorable point in time
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = {
        "label": label, "started_at": started_at.isoformat(),
        "consistent_at": consistent_at.isoformat(), "finished_at": finished_at.isoformat(),
        "postgres": pg, "cassandra": cql, "jetstream": js, "media": objects,
        "size": pg["size"] + cql["size"] + js["size"] + objects["size"],
        "uploaded": pg["size"] + cql["uploaded"] + js["size"] + objects["uploaded"],
    }  # fmt: skip
    store.put_json(backups, _manifest_key(label), manifest)
    return manifest


def labels() -> list[str]:
    backups = backup_settings.load()
    store.ensure_running(backups)
    keys = store.existing_keys(backups, "labels/")
    return sorted(k.removeprefix("labels/").removesuffix(".json") for k in keys)


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"TIME={text!r} is not an ISO 8601 time "
                         "(like 2026-12-06T03:15:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Restored:
    label: str
    target: datetime
    seconds: float
    aside: str | None
    counts: dict[str, int]


def restore(label: str, at: datetime | None = None, force: bool = False) -> Restored:
    """Into an empty stack (see guard.py): PostgreSQL to `at` (default: the backup's
    consistent point), the stores' infrastructure with its migrations, the stream
    (consumers rewound), the tables, the media objects, then every service."""
    started = time.monotonic()
    settings = topology.load()
    env = contract.build(settings)
    backups = backup_settings.load()
    backup_settings.label_time(label)  # a clear error for a malformed label
    store.ensure_running(backups)
    try:
        manifest = store.get_json(backups, _manifest_key(label))
    except Exception as exc:  # botocore's NoSuchKey is generated at run time
        raise StackError(f"no backup labelled {label} in {backups.endpoint}/"
                         f"{backups.bucket} (make backup-list)") from exc
    finished = datetime.fromisoformat(manifest["finished_at"])
    target = at or datetime.fromisoformat(manifest["consistent_at"])
    pg_stop = datetime.fromtimestamp(manifest["postgres"]["stop"], UTC)
    if target < pg_stop:
        raise StackError(f"TIME {target:%Y-%m-%dT%H:%M:%S}Z is before the end of backup "
                         f"{label}'s PostgreSQL copy ({pg_stop:%H:%M:%S}Z): choose an "
                         "earlier backup")
    if Supervisor(settings).pid() is not None:
        if not force:
            raise guard.RestoreRefusedError(
                "the stack is running; a restore goes into an empty stack "
                "(make down, then FORCE=1 to move its data aside)")
        down()
    aside = guard.prepare(settings, finished, force)
    if aside:
        log.info("restore: the stack's data moved aside to %s", aside)

    log.info("restore %s: postgres to %s", label, target.isoformat())
    pgbackrest.restore(settings, pgbackrest.s3_repo(backups), manifest["postgres"]["set"],
                       target)
    up(app=False)
    work = backups.work_dir / f"restore-{label}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        log.info("restore %s: jetstream", label)
        snap = work / "stream.tar.s2"
        store.client(backups).download_file(backups.bucket, manifest["jetstream"]["key"],
                                            str(snap))
        state = asyncio.run(jetstream.restore(env["NATS_URL"], snap,
                                              manifest["jetstream"]["meta"]))
        floors = manifest["jetstream"]["floors"]
        asyncio.run(jetstream.rewind(env["NATS_URL"], floors))
        log.info("restore %s: cassandra", label)
        files = cassandra.restore(settings, backups, manifest["cassandra"], work / "cassandra")
        log.info("restore %s: media objects", label)
        objects = media.restore(env, backups, manifest["media"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    try:
        up()
    except StackError as exc:
        # The data is in place; services that start slowly on a loaded machine (a
        # first start after a restore warms every cache) get a second wait.
        log.warning("restore: services not ready yet (%s); waiting once more", exc)
        up()
    return Restored(label, target, time.monotonic() - started,
                    str(aside) if aside else None,
                    {"stream_messages": int(state.get("messages", 0)),
                     "sstable_files": files, "media_objects": objects})


def jetstream_only() -> str:
    """The stream's snapshot alone, for a cluster whose other stores back themselves
    up (k8s: CloudNativePG, Scylla Manager); returns its key prefix."""
    env = contract.build(topology.load())
    backups = backup_settings.load()
    store.ensure_running(backups)
    label = backup_settings.new_label()
    work = backups.work_dir / label
    work.mkdir(parents=True, exist_ok=True)
    try:
        floors = asyncio.run(jetstream.ack_floors(env["NATS_URL"]))
        snap = work / "stream.tar.s2"
        meta = asyncio.run(jetstream.snapshot(env["NATS_URL"], snap))
        store.client(backups).upload_file(str(snap), backups.bucket,
                                          f"jetstream/{label}/stream.tar.s2")
        store.put_json(backups, f"jetstream/{label}/meta.json",
                       {"meta": meta, "floors": floors, "size": snap.stat().st_size})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return f"jetstream/{label}/"


def media_only() -> dict[str, Any]:
    env = contract.build(topology.load())
    backups = backup_settings.load()
    store.ensure_running(backups)
    return media.backup(env, backups)
