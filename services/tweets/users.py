"""The users service as the tweets service needs it: @mentions resolved to
user ids, and authors for hydration (cached briefly by the shared client)."""

from __future__ import annotations

from twitter.users.v1 import users_pb2

from services.shared.rpc.peers import UsersClient as SharedUsersClient
from services.tweets.domain import Author, Mention


class UsersClient(SharedUsersClient):
    async def resolve_mentions(self, names: list[str]) -> list[Mention]:
        """Existing users among the names, in the order given; unknown names drop out."""
        if not names:
            return []
        found = await self.by_username(names)
        return [Mention(found[n.lower()].user_id, found[n.lower()].username)
                for n in names if n.lower() in found]

    async def authors(self, user_ids: set[int]) -> dict[int, Author]:
        return {i: _author(u) for i, u in (await self.summaries(user_ids)).items()}


def _author(user: users_pb2.UserSummary) -> Author:
    return Author(user.user_id, user.username, user.display_name, user.profile_picture_url)
