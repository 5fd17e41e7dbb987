"""In memory: the notifications store (services/notifications/repository.py
NotificationStore) as the notifier writes it and the inbox reads it: actors'
parts and groups by target and window, changed together by a conditional batch
that fails when any part or group changed since read; the list rows naming the
groups (rows left behind by racing regroups included); closed targets, list
labels, the recipients a tweet notified and read positions."""

from __future__ import annotations

from services.notifications.domain import MAX_GROUPS, Change, Group, Kind, PartState, Target
from services.notifications.repository import (
    FeedRow,
    NotificationStore,
    Snapshot,
    StoredGroup,
    StoredPart,
    VersionedGroup,
)
from services.shared.snowflake.ids import write_timestamp


class FakeNotificationStore(NotificationStore):
    def __init__(self) -> None:  # no CQL session: everything lives below
        self.groups_by_key: dict[tuple[Target, int], StoredGroup] = {}
        self.rows: dict[int, set[FeedRow]] = {}  # recipient -> list rows
        self.parts_by_target: dict[Target, dict[int, PartState]] = {}  # by actor
        self.versions: dict[tuple[Target, int], int] = {}
        self.closed: dict[Target, int] = {}
        self.source_kinds: dict[int, dict[int, Kind]] = {}  # tweet -> recipient -> kind
        self.lose_next_commits = 0  # commits that lose to a racing writer
        self.label_of: dict[tuple[int, Kind, int], str] = {}
        self.positions: dict[int, tuple[int, int]] = {}  # recipient -> (timestamp, id)
        self.removed: list[tuple[FeedRow, int]] = []

    def put(self, group: Group, *, written_at: int = 1, listed: bool = True) -> None:
        """A regroup's result: the group, its actors' parts and (listed) its list row."""
        self.groups_by_key[(group.target, group.bucket)] = StoredGroup(group, written_at)
        parts = self.parts_by_target.setdefault(group.target, {})
        for actor in group.recent_actor_ids:
            parts.setdefault(actor, PartState(group.latest_id, True, 0))
        if listed:
            self.rows.setdefault(group.target.recipient_id, set()).add(
                FeedRow(group.latest_id, group.target, group.bucket))

    # The write side ---------------------------------------------------------------

    async def snapshot(self, target: Target, actor_ids: list[int], buckets: list[int], *,
                       serial: bool = False) -> Snapshot:
        found = self.parts_by_target.get(target, {})
        return Snapshot({a: StoredPart(found.get(a), a in found) for a in actor_ids},
                        self.closed.get(target),
                        {b: await self.versioned_group(target, b) for b in buckets})

    async def versioned_group(self, target: Target, bucket: int, *,
                              serial: bool = False) -> VersionedGroup:
        stored = self.groups_by_key.get((target, bucket))
        if stored is None:
            return VersionedGroup(Group(target, bucket, 0, (), 0), None)
        return VersionedGroup(stored.group, self.versions.get((target, bucket)))

    async def commit(self, target: Target, changes: list[tuple[Change, StoredPart]],
                     groups: list[tuple[VersionedGroup, Group]]) -> bool:
        if self.lose_next_commits:
            self.lose_next_commits -= 1
            return False
        parts = self.parts_by_target.setdefault(target, {})
        if any(parts.get(c.actor_id) != old.state for c, old in changes) or any(
                self.versions.get((target, after.bucket)) != before.version
                for before, after in groups):
            return False
        for change, _ in changes:
            parts[change.actor_id] = PartState(change.notification_id, change.active,
                                               change.at_us)
        for before, after in groups:
            self.groups_by_key[(target, after.bucket)] = StoredGroup(after, 1)
            self.versions[(target, after.bucket)] = (before.version or 0) + 1
        return True

    async def show_in_feed(self, group: Group, replaced_latest_id: int | None) -> None:
        rows = self.rows.setdefault(group.target.recipient_id, set())
        if replaced_latest_id and (replaced_latest_id != group.latest_id
                                   or group.actor_count == 0):
            rows.discard(FeedRow(replaced_latest_id, group.target, group.bucket))
        if group.actor_count > 0:
            rows.add(FeedRow(group.latest_id, group.target, group.bucket))

    async def close(self, target: Target, at_us: int) -> list[Group]:
        found = [g.group for (t, _), g in self.groups_by_key.items() if t == target]
        self.closed[target] = at_us
        return found

    async def remove_target(self, target: Target, at_us: int) -> None:
        pass  # the tables before notif_targets: nothing of them here

    async def trim(self, recipient_id: int, keep: int = MAX_GROUPS) -> None:
        rows = sorted(self.rows.get(recipient_id, set()), key=lambda r: r.latest_id,
                      reverse=True)
        self.rows[recipient_id] = set(rows[:keep])

    async def add_sources(self, tweet_id: int, recipients: dict[int, Kind]) -> None:
        self.source_kinds.setdefault(tweet_id, {}).update(recipients)

    async def sources(self, tweet_id: int) -> dict[int, Kind]:
        return dict(self.source_kinds.get(tweet_id, {}))

    async def set_label(self, target: Target, label: str, at_us: int) -> None:
        self.label_of[(target.recipient_id, target.kind, target.target_id)] = label

    # The read side ----------------------------------------------------------------

    async def group(self, target: Target, bucket: int, *,
                    legacy_only: bool = False) -> StoredGroup | None:
        if target in self.closed:
            return None
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
        return {a: parts[a].notification_id for a in actor_ids
                if a in parts and parts[a].active}

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
