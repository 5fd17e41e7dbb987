"""Whether a recipient is shown an actor's notifications: the one place
blocks and mutes (issue 20, item 2) plug in.

It is asked when a notification is made (an actor the recipient does not
see makes none) and when notifications are read, streamed or counted (an
actor hidden since is left out of the groups shown, and a group of only
hidden actors is neither shown nor counted unread), so a block or mute
applies to what was already stored too.

`BlocksAndMutes` is the lookup the services use: the recipient's blocks
(both ways) and mutes, from the relations cache the users service keeps
(services/users/client/relations.py; one Redis read, the users service on a miss).
`EveryoneVisible` hides no one.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from services.users.client.relations import RelationsCache


class Relations(Protocol):
    async def hidden_actors(self, recipient_id: int, actor_ids: Collection[int]) -> set[int]:
        """Those of `actor_ids` whose notifications `recipient_id` must not see."""

    async def all_hidden(self, recipient_id: int) -> set[int]:
        """Everyone whose notifications `recipient_id` must not see (read
        notifications subtract exactly these from the counts)."""

    async def hides_anyone(self, recipient_id: int) -> bool:
        """Whether `recipient_id` hides anyone at all: when not, unread counts
        need not read the groups to leave hidden actors out."""


class EveryoneVisible:
    """The stub lookup: no blocks or mutes yet."""

    async def hidden_actors(self, recipient_id: int, actor_ids: Collection[int]) -> set[int]:
        return set()

    async def all_hidden(self, recipient_id: int) -> set[int]:
        return set()

    async def hides_anyone(self, recipient_id: int) -> bool:
        return False


class BlocksAndMutes:
    """Hidden from a recipient: whom they block, who blocks them, whom they mute."""

    def __init__(self, relations: RelationsCache) -> None:
        self._relations = relations

    async def hidden_actors(self, recipient_id: int, actor_ids: Collection[int]) -> set[int]:
        return set((await self._relations.of(recipient_id)).quiet & set(actor_ids))

    async def all_hidden(self, recipient_id: int) -> set[int]:
        return set((await self._relations.of(recipient_id)).quiet)

    async def hides_anyone(self, recipient_id: int) -> bool:
        return bool((await self._relations.of(recipient_id)).quiet)


async def visible(relations: Relations, recipient_id: int, actor_id: int) -> bool:
    """Whether `actor_id` may notify `recipient_id` (never themselves)."""
    if actor_id == recipient_id:
        return False
    return not await relations.hidden_actors(recipient_id, (actor_id,))
