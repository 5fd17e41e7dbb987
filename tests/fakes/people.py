"""In memory: who exists and who follows whom, as services ask the users
service (the messages service's `Users` port, services/messages/conversations.py)."""

from __future__ import annotations

from services.messages.conversations import Users
from services.messages.domain import Participant


class FakePeople(Users):
    def __init__(self, *user_ids: int) -> None:
        self.people = {i: Participant(i, f"user{i}", f"User {i}", "") for i in user_ids}
        self.following: set[tuple[int, int]] = set()  # (follower, followee)

    def follow(self, follower: int, followee: int) -> None:
        self.following.add((follower, followee))

    async def participants(self, user_ids: set[int]) -> dict[int, Participant]:
        return {i: self.people[i] for i in user_ids if i in self.people}

    async def follows(self, follower: int, followee: int) -> bool:
        return (follower, followee) in self.following
