"""CQL of the notifications service: statements prepared once, rows mapped to
records. Why the writes are safe under redelivery and racing workers is in
migrations/cql/0001_notifications.cql, next to the tables."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cassandra.query import PreparedStatement

from services.notifications.domain import (
    MAX_GROUPS,
    Change,
    Group,
    Kind,
    PartState,
    Target,
    group_key,
)
from services.shared.snowflake.ids import write_timestamp
from services.shared.stores.cassandra import Cql, Params, applied, batch

_TARGET = "recipient_id = ? AND kind = ? AND target_id = ?"
_GROUP = "actor_count, recent_actor_ids, latest_id"
_PART_ROW, _GROUP_ROW = 1, 0  # notif_targets.row_kind


@dataclass(frozen=True)
class FeedRow:
    """A list row: which group, at which newest part."""

    latest_id: int
    target: Target
    bucket: int

    @property
    def key(self) -> str:
        return group_key(self.target.kind, self.target.target_id, self.bucket)


@dataclass(frozen=True)
class StoredGroup:
    group: Group
    written_at: int  # the CQL write time of the regroup that wrote it


@dataclass(frozen=True)
class StoredPart:
    """An actor's part and where it was read: `in_targets` says whether
    notif_targets holds it (else it came from notif_parts, or is absent)."""

    state: PartState | None
    in_targets: bool


@dataclass(frozen=True)
class VersionedGroup:
    """A group row of notif_targets and its version (None: no row yet; the
    group then starts from what notif_groups held, if anything)."""

    group: Group
    version: int | None


@dataclass(frozen=True)
class Snapshot:
    """What a commit reads of a target: actors' parts, whether (since when)
    the target is closed, and the groups of the windows asked for."""

    parts: dict[int, StoredPart]
    closed: int | None
    groups: dict[int, VersionedGroup]


def _target(recipient_id: int, row: dict[str, Any]) -> Target:
    return Target(recipient_id, Kind(row["kind"]), row["target_id"])


def _group(target: Target, row: dict[str, Any]) -> Group:
    return Group(target, row["bucket"], row["actor_count"],
                 tuple(row["recent_actor_ids"] or ()), row["latest_id"])


def _key(target: Target) -> tuple[int, int, int]:
    return target.recipient_id, int(target.kind), target.target_id


class NotificationStore:
    def __init__(self, cql: Cql, statements: dict[str, PreparedStatement]) -> None:
        self._cql = cql
        self._s = statements

    @classmethod
    async def open(cls, cql: Cql) -> NotificationStore:
        queries = {
            "remove_target": f"DELETE FROM notif_parts USING TIMESTAMP ? WHERE {_TARGET}",
            "remove_old_groups": f"DELETE FROM notif_groups USING TIMESTAMP ? WHERE {_TARGET}",
            "groups": f"SELECT bucket, {_GROUP}, WRITETIME(actor_count) AS written_at"
                      f" FROM notif_groups WHERE {_TARGET}",
            "group": f"SELECT bucket, {_GROUP}, WRITETIME(actor_count) AS written_at"
                     f" FROM notif_groups WHERE {_TARGET} AND bucket = ?",
            "remove_group": f"DELETE FROM notif_groups USING TIMESTAMP ? WHERE {_TARGET}"
                            " AND bucket = ?",
            "add_feed": "INSERT INTO notif_feed (recipient_id, latest_id, kind, target_id,"
                        " bucket) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?",
            "remove_feed": "DELETE FROM notif_feed USING TIMESTAMP ? WHERE recipient_id = ?"
                           " AND latest_id = ? AND kind = ? AND target_id = ? AND bucket = ?",
            "feed_first": "SELECT latest_id, kind, target_id, bucket FROM notif_feed"
                          " WHERE recipient_id = ? LIMIT ?",
            "feed_before": "SELECT latest_id, kind, target_id, bucket FROM notif_feed"
                           " WHERE recipient_id = ? AND latest_id < ? LIMIT ?",
            "feed_after": "SELECT latest_id, kind, target_id, bucket FROM notif_feed"
                          " WHERE recipient_id = ? AND latest_id > ? LIMIT ?",
            "trim_feed": "DELETE FROM notif_feed WHERE recipient_id = ? AND latest_id <= ?",
            "add_source": "INSERT INTO notif_sources (tweet_id, recipient_id, kind)"
                          " VALUES (?, ?, ?)",
            "sources": "SELECT recipient_id, kind FROM notif_sources WHERE tweet_id = ?",
            # Parts and groups at once: (row_kind, id) pairs of either kind.
            "t_rows": f"SELECT closed_us, row_kind, id, notification_id, active, changed_us,"
                      f" {_GROUP}, version, WRITETIME(version) AS written_at"
                      f" FROM notif_targets WHERE {_TARGET} AND (row_kind, id) IN ?",
            "t_parts_of": "SELECT id, notification_id, active FROM notif_targets"
                          f" WHERE {_TARGET} AND row_kind = {_PART_ROW} AND id IN ?",
            "old_parts": "SELECT actor_id, notification_id,"
                         " WRITETIME(notification_id) AS written_at"
                         f" FROM notif_parts WHERE {_TARGET} AND actor_id IN ?",
            "old_parts_of": "SELECT actor_id, notification_id FROM notif_parts"
                            f" WHERE {_TARGET} AND actor_id IN ?",
            "t_group": f"SELECT closed_us, {_GROUP}, version, WRITETIME(version) AS written_at"
                       f" FROM notif_targets WHERE {_TARGET} AND row_kind = {_GROUP_ROW}"
                       " AND id = ?",
            "t_groups": f"SELECT closed_us, id, {_GROUP}, version,"
                        " WRITETIME(version) AS written_at FROM notif_targets"
                        f" WHERE {_TARGET} AND row_kind = {_GROUP_ROW}",
            "t_new_part": "INSERT INTO notif_targets (recipient_id, kind, target_id, row_kind, id,"
                          " notification_id, active, changed_us)"
                          f" VALUES (?, ?, ?, {_PART_ROW}, ?, ?, ?, ?) IF NOT EXISTS",
            "t_set_part": "UPDATE notif_targets SET notification_id = ?, active = ?,"
                          f" changed_us = ? WHERE {_TARGET} AND row_kind = {_PART_ROW}"
                          " AND id = ? IF changed_us = ?",
            "t_new_group": "INSERT INTO notif_targets (recipient_id, kind, target_id, row_kind,"
                           f" id, {_GROUP}, version)"
                           f" VALUES (?, ?, ?, {_GROUP_ROW}, ?, ?, ?, ?, 1) IF NOT EXISTS",
            "t_set_group": "UPDATE notif_targets SET actor_count = ?, recent_actor_ids = ?,"
                           f" latest_id = ?, version = ? WHERE {_TARGET}"
                           f" AND row_kind = {_GROUP_ROW} AND id = ? IF version = ?",
            "t_closed": f"SELECT closed_us FROM notif_targets WHERE {_TARGET} LIMIT 1",
            "t_close": f"UPDATE notif_targets SET closed_us = ? WHERE {_TARGET}",
            "set_label": "INSERT INTO notif_labels (recipient_id, kind, target_id, label)"
                         " VALUES (?, ?, ?, ?) USING TIMESTAMP ?",
            "labels": "SELECT target_id, label FROM notif_labels"
                      " WHERE recipient_id = ? AND kind = ? AND target_id IN ?",
            "read_position": "SELECT last_read_id FROM notif_read WHERE recipient_id = ?",
            "set_read_position": "INSERT INTO notif_read (recipient_id, last_read_id)"
                                 " VALUES (?, ?) USING TIMESTAMP ?",
        }
        return cls(cql, {name: await cql.prepare(q) for name, q in queries.items()})

    async def remove_target(self, target: Target, at_us: int) -> None:
        """Removes what the tables before notif_targets hold of a target."""
        await self._cql.execute(batch((self._s["remove_target"], (at_us, *_key(target))),
                                      (self._s["remove_old_groups"], (at_us, *_key(target)))))

    # notif_targets: a part and its group changed together (0002_notif_targets.cql).

    async def snapshot(self, target: Target, actor_ids: list[int], buckets: list[int], *,
                       serial: bool = False) -> Snapshot:
        """Actors' parts and windows' groups in one read of notif_targets, and
        when the target was closed, if it was. A part missing there is looked
        up in notif_parts (written before notif_targets: active, changed at its
        write time), a group missing there in notif_groups."""
        keys = [(_PART_ROW, a) for a in actor_ids] + [(_GROUP_ROW, b) for b in buckets]
        rows = await self._cql.execute(self._s["t_rows"], (*_key(target), keys), serial=serial)
        found = {r["id"]: StoredPart(PartState(r["notification_id"], bool(r["active"]),
                                               r["changed_us"]), True)
                 for r in rows if r["row_kind"] == _PART_ROW and r["changed_us"] is not None}
        groups = {r["id"]: VersionedGroup(_group(target, {**r, "bucket": r["id"]}), r["version"])
                  for r in rows if r["row_kind"] == _GROUP_ROW and r["version"] is not None}
        # A static column comes only with a row: with no row, asked alone.
        closed = rows[0]["closed_us"] if rows else await self._closed(target, serial)
        rest = [a for a in actor_ids if a not in found]
        if rest:
            old = await self._cql.execute(self._s["old_parts"], (*_key(target), rest))
            for r in old:
                found[r["actor_id"]] = StoredPart(
                    PartState(r["notification_id"], True, r["written_at"] or 0), False)
        for bucket in buckets:
            if bucket not in groups:
                groups[bucket] = await self._legacy_group(target, bucket)
        return Snapshot({a: found.get(a, StoredPart(None, False)) for a in actor_ids}, closed,
                        {b: groups[b] for b in buckets})

    async def _closed(self, target: Target, serial: bool) -> int | None:
        rows = await self._cql.execute(self._s["t_closed"], _key(target), serial=serial)
        return rows[0]["closed_us"] if rows else None

    async def versioned_group(self, target: Target, bucket: int, *,
                              serial: bool = False) -> VersionedGroup:
        """A window's group with its version; one notif_targets lacks starts
        from notif_groups (what the regroups before it wrote) or empty."""
        rows = await self._cql.execute(self._s["t_group"], (*_key(target), bucket),
                                       serial=serial)
        if rows and rows[0]["version"] is not None:
            return VersionedGroup(_group(target, {**rows[0], "bucket": bucket}),
                                  rows[0]["version"])
        return await self._legacy_group(target, bucket)

    async def _legacy_group(self, target: Target, bucket: int) -> VersionedGroup:
        """A window's group as notif_groups held it (or empty), with no version."""
        old = await self.group(target, bucket, legacy_only=True)
        return VersionedGroup(old.group if old else Group(target, bucket, 0, (), 0), None)

    async def commit(self, target: Target, changes: list[tuple[Change, StoredPart]],
                     groups: list[tuple[VersionedGroup, Group]]) -> bool:
        """Writes parts and their groups' new values in one conditional batch
        of one partition: all or nothing, and nothing if any of them changed
        since read (the caller reads again and retries)."""
        key = _key(target)
        work: list[tuple[PreparedStatement, Params]] = []
        for change, old in changes:
            if old.in_targets:
                assert old.state is not None
                work.append((self._s["t_set_part"], (change.notification_id, change.active,
                                                     change.at_us, *key, change.actor_id,
                                                     old.state.changed_us)))
            else:
                work.append((self._s["t_new_part"], (*key, change.actor_id,
                                                     change.notification_id, change.active,
                                                     change.at_us)))
        for before, after in groups:
            values = (after.actor_count, list(after.recent_actor_ids), after.latest_id)
            if before.version is None:
                work.append((self._s["t_new_group"], (*key, after.bucket, *values)))
            else:
                work.append((self._s["t_set_group"], (*values, before.version + 1, *key,
                                                      after.bucket, before.version)))
        return applied(await self._cql.execute(batch(*work)))

    async def show_in_feed(self, group: Group, replaced_latest_id: int | None) -> None:
        """The group's list row (none once it is empty), and the row of the
        newest id it had before removed. Idempotent: replayed after a crash
        between a commit and this, it makes the same rows."""
        t = group.target
        work: list[tuple[PreparedStatement, Params]] = []
        at_us = time.time_ns() // 1000
        if replaced_latest_id and (replaced_latest_id != group.latest_id
                                   or group.actor_count == 0):
            work.append((self._s["remove_feed"], (at_us, t.recipient_id, replaced_latest_id,
                                                  int(t.kind), t.target_id, group.bucket)))
        if group.actor_count > 0:
            work.append((self._s["add_feed"], (t.recipient_id, group.latest_id, int(t.kind),
                                               t.target_id, group.bucket, at_us + 1)))
        if work:
            await self._cql.execute(batch(*work))

    async def active_parts_of(self, target: Target, actor_ids: list[int]) -> dict[int, int]:
        """Of these actors, those with an active part: their notification ids.
        Costs as many rows as actors asked about, however many the target has."""
        if not actor_ids:
            return {}
        rows = await self._cql.execute(self._s["t_parts_of"], (*_key(target), actor_ids))
        found = {r["id"]: r["notification_id"] for r in rows if r["active"]}
        known = {r["id"] for r in rows}
        rest = [a for a in actor_ids if a not in known]
        if rest:
            old = await self._cql.execute(self._s["old_parts_of"], (*_key(target), rest))
            found |= {r["actor_id"]: r["notification_id"] for r in old}
        return found

    async def close(self, target: Target, at_us: int) -> list[Group]:
        """Marks a target closed (its tweet deleted; nothing is made of it
        after) and returns its groups as they were, to be taken off the list."""
        found = [s.group for s in (await self.groups(target)).values()]
        await self._cql.execute(self._s["t_close"], (at_us, *_key(target)))
        return found

    # Groups and the list: written by regroups at the time they started.

    async def groups(self, target: Target) -> dict[int, StoredGroup]:
        """The target's groups by window, those notif_targets holds over the
        ones notif_groups holds from before it; none once it is closed."""
        rows = await self._cql.execute(self._s["t_groups"], _key(target))
        if rows and rows[0]["closed_us"] is not None:
            return {}
        found = {r["id"]: StoredGroup(_group(target, {**r, "bucket": r["id"]}),
                                      r["written_at"] or 0)
                 for r in rows if r["version"] is not None}
        legacy = await self._cql.execute(self._s["groups"], _key(target))
        for r in legacy:
            found.setdefault(r["bucket"], StoredGroup(_group(target, r), r["written_at"] or 0))
        return dict(sorted(found.items()))

    async def group(self, target: Target, bucket: int, *,
                    legacy_only: bool = False) -> StoredGroup | None:
        """A window's group: notif_targets' row (none once the target is
        closed), else the one notif_groups holds from before it."""
        if not legacy_only:
            rows = await self._cql.execute(self._s["t_group"], (*_key(target), bucket))
            if rows and rows[0]["closed_us"] is not None:
                return None
            if rows and rows[0]["version"] is not None:
                return StoredGroup(_group(target, {**rows[0], "bucket": bucket}),
                                   rows[0]["written_at"] or 0)
        rows = await self._cql.execute(self._s["group"], (*_key(target), bucket))
        return StoredGroup(_group(target, rows[0]), rows[0]["written_at"] or 0) if rows else None

    async def feed(self, recipient_id: int, *, before: int | None = None,
                   after: int | None = None, limit: int) -> list[FeedRow]:
        """List rows newest first: all, older than `before`, or newer than `after`."""
        if before is not None:
            rows = await self._cql.execute(self._s["feed_before"], (recipient_id, before, limit))
        elif after is not None:
            rows = await self._cql.execute(self._s["feed_after"], (recipient_id, after, limit))
        else:
            rows = await self._cql.execute(self._s["feed_first"], (recipient_id, limit))
        return [FeedRow(r["latest_id"], _target(recipient_id, r), r["bucket"]) for r in rows]

    async def remove_feed_row(self, row: FeedRow, at_us: int) -> None:
        """Removes a row left behind, at the time its group was rewritten: a
        regroup after that (which may bring the row back) still wins."""
        await self._cql.execute(self._s["remove_feed"], (
            at_us, row.target.recipient_id, row.latest_id, int(row.target.kind),
            row.target.target_id, row.bucket))

    async def trim(self, recipient_id: int, keep: int = MAX_GROUPS) -> None:
        """Keeps the newest `keep` list rows of a user."""
        rows = await self._cql.execute(self._s["feed_first"], (recipient_id, keep + 1))
        if len(rows) > keep:
            await self._cql.execute(self._s["trim_feed"], (recipient_id, rows[-1]["latest_id"]))

    # Which recipients a tweet notified.

    async def add_sources(self, tweet_id: int, recipients: dict[int, Kind]) -> None:
        await self._cql.execute_many((self._s["add_source"], (tweet_id, user, int(kind)))
                                     for user, kind in recipients.items())

    async def sources(self, tweet_id: int) -> dict[int, Kind]:
        rows = await self._cql.execute(self._s["sources"], (tweet_id,))
        return {r["recipient_id"]: Kind(r["kind"]) for r in rows}

    # Labels: a list's name beside its LIST_ADDED group (0003_notif_labels.cql).

    async def set_label(self, target: Target, label: str, at_us: int) -> None:
        """Written at the event's time: the newest event's label wins, and a
        redelivered one rewrites the same value."""
        await self._cql.execute(self._s["set_label"], (*_key(target), label, at_us))

    async def labels(self, recipient_id: int, kind: Kind,
                     target_ids: list[int]) -> dict[int, str]:
        """The labels of a recipient's targets of one kind, by target id."""
        if not target_ids:
            return {}
        rows = await self._cql.execute(self._s["labels"], (recipient_id, int(kind), target_ids))
        return {r["target_id"]: r["label"] for r in rows}

    # Read positions.

    async def read_position(self, recipient_id: int) -> int:
        rows = await self._cql.execute(self._s["read_position"], (recipient_id,))
        return int(rows[0]["last_read_id"] or 0) if rows else 0

    async def set_read_position(self, recipient_id: int, last_read_id: int) -> None:
        await self._cql.execute(self._s["set_read_position"],
                                (recipient_id, last_read_id, write_timestamp(last_read_id)))
