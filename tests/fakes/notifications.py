"""In memory: the read side of the notifications store
(services/notifications/repository.py NotificationStore) as the inbox uses it:
groups by target and window, the list rows naming them (rows left behind by
racing regroups included), actors' parts, list labels and read positions."""

from __future__ import annotations

from services.notifications.domain import Group, Kind, Target
from services.notifications.repository import FeedRow, NotificationStore, StoredGroup
from services.shared.ids import write_timestamp


class FakeNotificationStore(NotificationStore):
    def __init__(self) -> None:  # no CQL session: everything lives below
        self.groups_by_key: dict[tuple[Target, int], StoredGroup] = {}
        self.rows: dict[int, set[FeedRow]] = {}  # recipient -> list rows
        self.parts_by_target: dict[Target, dict[int, int]] = {}  # actor -> notification id
        self.label_of: dict[tuple[int, Kind, int], str] = {}
        self.positions: dict[int, tuple[int, int]] = {}  # recipient -> (timestamp, id)
        self.removed: list[tuple[FeedRow, int]] = []

    def put(self, group: Group, *, written_at: int = 1, listed: bool = True) -> None:
        """A regroup's result: the group, its actors' parts and (listed) its list row."""
        self.groups_by_key[(group.target, group.bucket)] = StoredGroup(group, written_at)
        parts = self.parts_by_target.setdefault(group.target, {})
        for actor in group.recent_actor_ids:
            parts.setdefault(actor, group.latest_id)
        if listed:
            self.rows.setdefault(group.target.recipient_id, set()).add(
                FeedRow(group.latest_id, group.target, group.bucket))

    async def group(self, target: Target, bucket: int, *,
                    legacy_only: bool = False) -> StoredGroup | None:
        return self.groups_by_key.get((target, bucket))

    async def feed(self, recipient_id: int, *, before: int | None = None,
                   after: int | None = None, limit: int) -> list[FeedRow]:
        rows = sorted(self.rows.get(recipient_id, set()),
                      key=lambda r: (r.latest_id, r.key), reverse=True)
        if before is not None:
            rows = [r for r in rows if r.latest_id < before]
        elif after is not None:
            rows = [r for r in rows if r.latest_id > after]
        return rows[:limit]

    async def remove_feed_row(self, row: FeedRow, at_us: int) -> None:
        self.removed.append((row, at_us))
        self.rows.get(row.target.recipient_id, set()).discard(row)

    async def active_parts_of(self, target: Target, actor_ids: list[int]) -> dict[int, int]:
        parts = self.parts_by_target.get(target, {})
        return {a: parts[a] for a in actor_ids if a in parts}

    async def labels(self, recipient_id: int, kind: Kind,
                     target_ids: list[int]) -> dict[int, str]:
        return {t: self.label_of[(recipient_id, kind, t)] for t in target_ids
                if (recipient_id, kind, t) in self.label_of}

    async def read_position(self, recipient_id: int) -> int:
        return self.positions.get(recipient_id, (0, 0))[1]

    async def set_read_position(self, recipient_id: int, last_read_id: int) -> None:
        cell = (write_timestamp(last_read_id), last_read_id)  # the newest id wins
        if cell > self.positions.get(recipient_id, (-1, -1)):
            self.positions[recipient_id] = cell
