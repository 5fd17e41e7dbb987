"""The users service as the messages service needs it: whether a user exists,
who they are (cached briefly by the shared client) and whether one follows another."""

from __future__ import annotations

from services.messages.domain import Participant
from services.shared.rpc.peers import UsersClient as SharedUsersClient


class UsersClient(SharedUsersClient):
    async def participants(self, user_ids: set[int]) -> dict[int, Participant]:
        """The users among `user_ids` that exist."""
        return {i: Participant(u.user_id, u.username, u.display_name, u.profile_picture_url)
                for i, u in (await self.summaries(user_ids)).items()}
