"""In memory: the messages service's store (services/messages/repository.py),
with the same semantics the CQL gives it: newest first pages, write timestamps
that let only a newer message move a conversation, IF NOT EXISTS key claims."""

from __future__ import annotations

from services.messages.domain import UNREAD_CAP, AllowFrom, ConversationState, Pair
from services.messages.repository import MessageStore, SendKey, StoredMessage
from services.shared.snowflake.ids import write_timestamp

# A cell written with a timestamp: the higher (timestamp, value) wins, as in Cassandra.
Cell = tuple[int, int]


class FakeMessageStore(MessageStore):
    def __init__(self) -> None:  # no CQL session: everything lives in the dicts below
        self.messages: dict[Pair, dict[int, StoredMessage]] = {}
        self.last: dict[tuple[int, int], Cell] = {}
        self.read: dict[tuple[int, int], Cell] = {}
        self.inboxes: dict[int, dict[int, int]] = {}  # user -> last message id -> peer
        self.keys: dict[tuple[int, str], SendKey] = {}
        self.settings: dict[int, AllowFrom] = {}
        self.fail_add = False  # the next add raises (a batch that did not land)

    async def add(self, message: StoredMessage, previous_last: int = 0) -> None:
        if self.fail_add:
            self.fail_add = False
            raise TimeoutError("the batch timed out")
        pair, mid = message.pair, message.message_id
        ts = write_timestamp(mid)
        self.messages.setdefault(pair, {})[mid] = message
        for user, peer in ((pair.low, pair.high), (pair.high, pair.low)):
            _write(self.last, (user, peer), (ts, mid))
            self.inboxes.setdefault(user, {})[mid] = peer
            if 0 < previous_last < mid:
                self.inboxes[user].pop(previous_last, None)

    async def get(self, pair: Pair, message_id: int) -> StoredMessage | None:
        return self.messages.get(pair, {}).get(message_id)

    async def page(self, pair: Pair, before: int, limit: int) -> list[StoredMessage]:
        ids = sorted((m for m in self.messages.get(pair, {}) if m < before), reverse=True)
        return [self.messages[pair][m] for m in ids[:limit]]

    async def unread(self, pair: Pair, peer: int, after: int) -> int:
        found = [m for m in self.messages.get(pair, {}).values()
                 if m.message_id > after and m.sender_id == peer]
        return min(len(found), UNREAD_CAP)

    async def state(self, user: int, peer: int) -> ConversationState | None:
        last = self.last.get((user, peer))
        if last is None:
            return None
        read = self.read.get((user, peer), (0, 0))
        return ConversationState(user, peer, last[1], read[1])

    async def states(self, user: int, peers: list[int]) -> dict[int, ConversationState]:
        found = {p: await self.state(user, p) for p in peers}
        return {p: s for p, s in found.items() if s is not None}

    async def set_read(self, user: int, peer: int, message_id: int) -> None:
        _write(self.read, (user, peer), (write_timestamp(message_id), message_id))

    async def inbox(self, user: int, before: int, limit: int) -> list[tuple[int, int]]:
        rows = self.inboxes.get(user, {})
        return [(m, rows[m]) for m in sorted((m for m in rows if m < before),
                                             reverse=True)[:limit]]

    async def inbox_remove(self, user: int, last_message_ids: list[int]) -> None:
        for m in last_message_ids:
            self.inboxes.get(user, {}).pop(m, None)

    async def claim_key(self, sender: int, client_message_id: str,
                        key: SendKey) -> SendKey | None:
        earlier = self.keys.setdefault((sender, client_message_id), key)
        return None if earlier is key else earlier

    async def allow_from(self, user: int) -> AllowFrom:
        return self.settings.get(user, AllowFrom.EVERYONE)

    async def set_allow_from(self, user: int, value: AllowFrom) -> None:
        self.settings[user] = value


def _write(cells: dict[tuple[int, int], Cell], key: tuple[int, int], cell: Cell) -> None:
    if key not in cells or cell > cells[key]:
        cells[key] = cell
