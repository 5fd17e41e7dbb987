"""CQL of the media service: statements prepared once, rows mapped to records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cassandra.query import PreparedStatement

from services.media.domain import MediaRecord, MediaState, MediaType
from services.shared.stores.cassandra import Cql, applied

_COLUMNS = ("media_id, owner_id, media_type, state, size_bytes, width, height, object_key,"
            " rejection_reason, created_at")


def hour_of(when: datetime) -> int:
    """The media_pending partition of an upload started then: hours since the Unix epoch."""
    return int(when.timestamp()) // 3600


def _record(row: dict[str, Any]) -> MediaRecord:
    created: datetime = row["created_at"]
    return MediaRecord(
        media_id=row["media_id"], owner_id=row["owner_id"],
        media_type=MediaType(row["media_type"]), state=MediaState(row["state"]),
        size_bytes=row["size_bytes"], object_key=row["object_key"],
        created_at=created.replace(tzinfo=UTC), width=row["width"] or 0,
        height=row["height"] or 0, rejection_reason=row["rejection_reason"] or "")


class MediaStore:
    def __init__(self, cql: Cql, statements: dict[str, PreparedStatement]) -> None:
        self._cql = cql
        self._s = statements

    @classmethod
    async def open(cls, cql: Cql) -> MediaStore:
        queries = {
            "get": f"SELECT {_COLUMNS} FROM media WHERE media_id = ?",
            # Ids are random: the one in a 2^63 chance of a taken id must not
            # overwrite someone's media.
            "insert": f"INSERT INTO media ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                      " IF NOT EXISTS",
            "insert_pending": "INSERT INTO media_pending (hour, media_id) VALUES (?, ?)",
            "ready": "UPDATE media SET state = 2, size_bytes = ?, width = ?, height = ?,"
                     " completed_at = ? WHERE media_id = ? IF state = 1",
            "reject": "UPDATE media SET state = 3, rejection_reason = ?, completed_at = ?"
                      " WHERE media_id = ? IF state = 1",
            "delete_if_pending": "DELETE FROM media WHERE media_id = ? IF state = 1",
            "pending": "SELECT media_id FROM media_pending WHERE hour = ?",
            "unlist_pending": "DELETE FROM media_pending WHERE hour = ? AND media_id = ?",
        }
        return cls(cql, {name: await cql.prepare(q) for name, q in queries.items()})

    async def get(self, media_id: int) -> MediaRecord | None:
        rows = await self._cql.execute(self._s["get"], (media_id,))
        return _record(rows[0]) if rows else None

    async def get_many(self, media_ids: list[int]) -> dict[int, MediaRecord]:
        results = await self._cql.execute_many((self._s["get"], (m,)) for m in media_ids)
        return {r[0]["media_id"]: _record(r[0]) for r in results if r}

    async def insert(self, media: MediaRecord) -> bool:
        """False when the id is taken (nothing is written over it then)."""
        # The pending row (what the sweeper finds) first, so it never goes
        # missing while the media row exists; a pending row without its media
        # is dropped by the sweeper.
        await self._cql.execute(self._s["insert_pending"],
                                (hour_of(media.created_at), media.media_id))
        return applied(await self._cql.execute(self._s["insert"], (
            media.media_id, media.owner_id, int(media.media_type), int(media.state),
            media.size_bytes, media.width, media.height, media.object_key,
            media.rejection_reason, media.created_at)))

    async def mark_ready(self, media: MediaRecord) -> bool:
        """PENDING_UPLOAD -> READY; False when it was no longer pending."""
        rows = await self._cql.execute(self._s["ready"], (
            media.size_bytes, media.width, media.height, datetime.now(UTC), media.media_id))
        return applied(rows)

    async def mark_rejected(self, media_id: int, reason: str) -> bool:
        rows = await self._cql.execute(self._s["reject"],
                                       (reason, datetime.now(UTC), media_id))
        return applied(rows)

    async def delete_if_pending(self, media_id: int) -> bool:
        return applied(await self._cql.execute(self._s["delete_if_pending"], (media_id,)))

    async def pending(self, hour: int) -> list[int]:
        rows = await self._cql.execute(self._s["pending"], (hour,))
        return [r["media_id"] for r in rows]

    async def unlist_pending(self, hour: int, media_id: int) -> None:
        await self._cql.execute(self._s["unlist_pending"], (hour, media_id))
