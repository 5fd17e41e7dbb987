"""What a user reads: their groups newest first, the unread count, the read
position; and how a group is shown to its recipient (hidden actors left out)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from services.notifications.domain import (
    RECENT_ACTORS,
    UNREAD_CAP,
    Group,
    Kind,
    bucket_of,
    now_id,
    unread_count,
)
from services.notifications.repository import FeedRow, NotificationStore
from services.notifications.visibility import Relations
from services.shared.errors import InvalidArgument
from services.shared.paging.cursor import LastId, ListCursor, last_id

GROUPS = ListCursor("notifications.groups", LastId)
# Unread counting reads this many list rows past the read position at most
# (rows left behind by racing regroups count once, under their group's key).
_UNREAD_ROWS = 2 * UNREAD_CAP


@dataclass(frozen=True)
class Shown:
    """A group as its recipient sees it."""

    group: Group
    unread: bool


class Inbox:
    def __init__(self, store: NotificationStore, relations: Relations, *,
                 window_seconds: int) -> None:
        self._store = store
        self._relations = relations
        self._window = window_seconds

    async def page(self, user_id: int, page_size: int,
                   page_token: str) -> tuple[list[Shown], str]:
        req = GROUPS.request(user_id, page_size, page_token)
        before = last_id(req)
        position, rows = await asyncio.gather(
            self._store.read_position(user_id),
            self._store.feed(user_id, before=before, limit=req.fetch_size))
        found: list[Group] = []
        while True:
            found += await self.shown(user_id, await self._current(rows))
            if len(found) >= req.fetch_size or len(rows) < req.fetch_size:
                break
            before = rows[-1].latest_id
            rows = await self._store.feed(user_id, before=before, limit=req.fetch_size)
        page = [Shown(g, g.latest_id > position) for g in found[:req.fetch_size]]
        return req.page(page, lambda s: LastId(s.group.latest_id))

    async def _current(self, rows: list[FeedRow]) -> list[Group]:
        """The groups the rows name, where the row is current; rows left
        behind by racing writers are skipped and removed. A row older than
        its group's newest id is removed now: a group's newest id only grows,
        so that row never becomes current again. An emptied group's row is
        removed at the group's write time, so a like refilling it since wins."""
        stored = await asyncio.gather(*(self._store.group(r.target, r.bucket) for r in rows))
        current = []
        for row, found in zip(rows, stored, strict=True):
            if found is None:
                continue  # removed with its group (a row left behind expires)
            if found.group.latest_id == row.latest_id and found.group.actor_count > 0:
                current.append(found.group)
            elif found.group.latest_id > row.latest_id:
                await self._store.remove_feed_row(row, time.time_ns() // 1000)
            else:
                await self._store.remove_feed_row(row, found.written_at)
        return current

    async def shown(self, user_id: int, groups: list[Group]) -> list[Group]:
        """The groups as the user sees them (visibility.py): hidden actors are
        neither named nor counted, exactly (the target's parts are looked up
        for just the hidden actors), up to RECENT_ACTORS others are named,
        and a group with no one else left is left out. An emptied group (the
        live stream's "it is gone") is passed on as it is."""
        hidden = await self._relations.all_hidden(user_id) if groups else set()
        out = []
        for stored in groups:
            if stored.actor_count == 0:
                out.append(stored)
                continue
            group = await self._without(stored, hidden) if hidden else stored
            if group.actor_count > 0:
                out.append(replace(group,
                                   recent_actor_ids=group.recent_actor_ids[:RECENT_ACTORS]))
        return out

    async def _without(self, group: Group, hidden: set[int]) -> Group:
        parts = await self._store.active_parts_of(group.target, sorted(hidden))
        in_group = sum(1 for nid in parts.values()
                       if bucket_of(nid, self._window) == group.bucket)
        return replace(group, actor_count=group.actor_count - in_group,
                       recent_actor_ids=tuple(a for a in group.recent_actor_ids
                                              if a not in hidden))

    async def list_names(self, user_id: int, groups: Iterable[Group]) -> dict[int, str]:
        """The names of the lists the user's LIST_ADDED groups among these are
        about, by list id (one read of the user's labels)."""
        lists = sorted({g.target.target_id for g in groups if g.target.kind is Kind.LIST_ADDED})
        return await self._store.labels(user_id, Kind.LIST_ADDED, lists)

    async def unread(self, user_id: int) -> tuple[int, int]:
        """The unread group count (up to UNREAD_CAP) and the read position."""
        position = await self._store.read_position(user_id)
        return await self._count_after(user_id, position), position

    async def _count_after(self, user_id: int, position: int) -> int:
        rows = await self._store.feed(user_id, after=position, limit=_UNREAD_ROWS)
        if rows and await self._relations.hides_anyone(user_id):
            groups = await self.shown(user_id, await self._current(rows))
            return unread_count(((g.latest_id, g.key) for g in groups), position)
        return unread_count(((r.latest_id, r.key) for r in rows), position)

    async def mark_read(self, user_id: int, up_to: int) -> tuple[int, int]:
        """Moves the read position forward to `up_to` (0: now); never past now,
        so notifications still to come stay unread. Returns the unread count
        and the position after."""
        if up_to < 0:
            raise InvalidArgument.field("up_to_notification_id", "must not be negative")
        now = now_id(time.time_ns() // 1_000_000)
        await self._store.set_read_position(user_id, min(up_to, now) if up_to else now)
        return await self.unread(user_id)

    async def is_unread(self, user_id: int, group: Group) -> bool:
        return group.actor_count > 0 and group.latest_id > await self._store.read_position(
            user_id)
