"""What a user reads: their groups newest first, the unread count, the read
position; and how a group is shown to its recipient (hidden actors left out)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from services.notifications.domain import UNREAD_CAP, Group, now_id, unread_count
from services.notifications.repository import FeedRow, NotificationStore
from services.notifications.visibility import Relations
from services.shared.cursor import LastId, ListCursor, last_id
from services.shared.errors import InvalidArgument

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
    def __init__(self, store: NotificationStore, relations: Relations) -> None:
        self._store = store
        self._relations = relations

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
        behind by racing regroups are skipped and removed."""
        stored = await asyncio.gather(*(self._store.group(r.target, r.bucket) for r in rows))
        current = []
        for row, found in zip(rows, stored, strict=True):
            if found is None:
                continue  # removed with its group (a row left behind expires)
            if found.group.latest_id == row.latest_id and found.group.actor_count > 0:
                current.append(found.group)
            else:
                await self._store.remove_feed_row(row, found.written_at)
        return current

    async def shown(self, user_id: int, groups: list[Group]) -> list[Group]:
        """The groups without the actors the user does not see (visibility.py);
        a group none of whose named actors are seen is left out."""
        named = {a for g in groups for a in g.recent_actor_ids}
        hidden = await self._relations.hidden_actors(user_id, named) if named else set()
        if not hidden:
            return groups
        out = []
        for group in groups:
            seen = tuple(a for a in group.recent_actor_ids if a not in hidden)
            if seen:
                out.append(replace(group, recent_actor_ids=seen, actor_count=group.actor_count
                                   - (len(group.recent_actor_ids) - len(seen))))
        return out

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
