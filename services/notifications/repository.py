"""CQL of the notifications service: statements prepared once, rows mapped to
records. Why the writes are safe under redelivery and racing workers is in
migrations/cql/0001_notifications.cql, next to the tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cassandra.query import PreparedStatement

from services.notifications.domain import MAX_GROUPS, Group, Kind, Part, Target, group_key
from services.shared.cassandra import Cql, Params, batch
from services.shared.ids import write_timestamp

_TARGET = "recipient_id = ? AND kind = ? AND target_id = ?"
_GROUP = "actor_count, recent_actor_ids, latest_id"


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
            "add_part": "INSERT INTO notif_parts (recipient_id, kind, target_id, actor_id,"
                        " notification_id) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?",
            "remove_part": f"DELETE FROM notif_parts USING TIMESTAMP ? WHERE {_TARGET}"
                           " AND actor_id = ?",
            "remove_target": f"DELETE FROM notif_parts USING TIMESTAMP ? WHERE {_TARGET}",
            "parts": f"SELECT actor_id, notification_id FROM notif_parts WHERE {_TARGET}",
            "groups": f"SELECT bucket, {_GROUP}, WRITETIME(actor_count) AS written_at"
                      f" FROM notif_groups WHERE {_TARGET}",
            "group": f"SELECT bucket, {_GROUP}, WRITETIME(actor_count) AS written_at"
                     f" FROM notif_groups WHERE {_TARGET} AND bucket = ?",
            "save_group": "INSERT INTO notif_groups (recipient_id, kind, target_id, bucket,"
                          f" {_GROUP}) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?",
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
            "read_position": "SELECT last_read_id FROM notif_read WHERE recipient_id = ?",
            "set_read_position": "INSERT INTO notif_read (recipient_id, last_read_id)"
                                 " VALUES (?, ?) USING TIMESTAMP ?",
        }
        return cls(cql, {name: await cql.prepare(q) for name, q in queries.items()})

    # Parts: written and removed at their event's time.

    async def add_part(self, target: Target, part: Part, at_us: int) -> None:
        await self._cql.execute(self._s["add_part"], (*_key(target), part.actor_id,
                                                      part.notification_id, at_us))

    async def remove_part(self, target: Target, actor_id: int, at_us: int) -> None:
        await self._cql.execute(self._s["remove_part"], (at_us, *_key(target), actor_id))

    async def remove_target(self, target: Target, at_us: int) -> None:
        await self._cql.execute(self._s["remove_target"], (at_us, *_key(target)))

    async def parts(self, target: Target) -> list[Part]:
        rows = await self._cql.execute(self._s["parts"], _key(target))
        return [Part(r["actor_id"], r["notification_id"]) for r in rows]

    # Groups and the list: written by regroups at the time they started.

    async def groups(self, target: Target) -> dict[int, StoredGroup]:
        rows = await self._cql.execute(self._s["groups"], _key(target))
        return {r["bucket"]: StoredGroup(_group(target, r), r["written_at"] or 0) for r in rows}

    async def group(self, target: Target, bucket: int) -> StoredGroup | None:
        rows = await self._cql.execute(self._s["group"], (*_key(target), bucket))
        return StoredGroup(_group(target, rows[0]), rows[0]["written_at"] or 0) if rows else None

    async def save_groups(self, target: Target, new: dict[int, Group],
                          old: dict[int, StoredGroup], at_us: int) -> None:
        """Writes the target's groups as regrouped, and moves their list rows."""
        key = _key(target)
        work: list[tuple[PreparedStatement, Params]] = []
        for bucket, group in new.items():
            work.append((self._s["save_group"], (*key, bucket, group.actor_count,
                                                 list(group.recent_actor_ids), group.latest_id,
                                                 at_us)))
            work.append((self._s["add_feed"], (target.recipient_id, group.latest_id,
                                               int(target.kind), target.target_id, bucket,
                                               at_us)))
        for bucket, stored in old.items():
            if bucket not in new:
                work.append((self._s["remove_group"], (at_us, *key, bucket)))
            if bucket not in new or new[bucket].latest_id != stored.group.latest_id:
                work.append((self._s["remove_feed"], (
                    at_us, target.recipient_id, stored.group.latest_id, int(target.kind),
                    target.target_id, bucket)))
        if work:
            await self._cql.execute(batch(*work))

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

    # Read positions.

    async def read_position(self, recipient_id: int) -> int:
        rows = await self._cql.execute(self._s["read_position"], (recipient_id,))
        return int(rows[0]["last_read_id"] or 0) if rows else 0

    async def set_read_position(self, recipient_id: int, last_read_id: int) -> None:
        await self._cql.execute(self._s["set_read_position"],
                                (recipient_id, last_read_id, write_timestamp(last_read_id)))
