"""In memory: a viewer's blocks and mutes as services read them
(services/users/client/relations.py RelationsCache)."""

from __future__ import annotations

from services.users.client.relations import NONE, Relations, RelationsCache


class FakeRelationsCache(RelationsCache):
    def __init__(self) -> None:  # no Redis, no users service: the relations set below
        self.of_user: dict[int, Relations] = {}

    def block(self, blocker: int, blocked: int) -> None:
        """`blocker` blocks `blocked`: both sides see it, as the users service writes it."""
        a, b = self.of_user.get(blocker, NONE), self.of_user.get(blocked, NONE)
        self.of_user[blocker] = Relations(a.blocked | {blocked}, a.blocked_by, a.muted)
        self.of_user[blocked] = Relations(b.blocked, b.blocked_by | {blocker}, b.muted)

    def mute(self, muter: int, muted: int) -> None:
        a = self.of_user.get(muter, NONE)
        self.of_user[muter] = Relations(a.blocked, a.blocked_by, a.muted | {muted})

    async def of(self, viewer: int) -> Relations:
        return self.of_user.get(viewer, NONE)

    async def resolve(self, viewer: int, raw: bytes | str | None) -> Relations:
        return await self.of(viewer)
