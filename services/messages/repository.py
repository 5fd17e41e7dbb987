"""CQL of the messages service: statements prepared once, rows mapped to records.
Content arrives here already sealed; this module never sees plaintext."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cassandra.query import BatchStatement, BatchType, PreparedStatement

from services.messages.crypto import Sealed
from services.messages.domain import UNREAD_CAP, AllowFrom, ConversationState, Pair
from services.shared.snowflake.ids import write_timestamp
from services.shared.stores.cassandra import Cql, applied

_MESSAGE = "message_id, sender_id, key_id, ciphertext, client_message_id"


@dataclass(frozen=True)
class StoredMessage:
    pair: Pair
    message_id: int
    sender_id: int
    sealed: Sealed
    client_message_id: str

    @property
    def recipient_id(self) -> int:
        return self.pair.high if self.sender_id == self.pair.low else self.pair.low


@dataclass(frozen=True)
class SendKey:
    message_id: int
    recipient_id: int
    key_id: str
    fingerprint: bytes


def _message(pair: Pair, row: dict[str, Any]) -> StoredMessage:
    return StoredMessage(pair, row["message_id"], row["sender_id"],
                         Sealed(row["key_id"], row["ciphertext"]),
                         row["client_message_id"] or "")


def _state(row: dict[str, Any]) -> ConversationState:
    return ConversationState(row["user_id"], row["peer_id"], row["last_message_id"] or 0,
                             row["last_read_message_id"] or 0)


class MessageStore:
    def __init__(self, cql: Cql, statements: dict[str, PreparedStatement]) -> None:
        self._cql = cql
        self._s = statements

    @classmethod
    async def open(cls, cql: Cql) -> MessageStore:
        queries = {
            "insert_message": f"INSERT INTO dm_messages (user_low, user_high, {_MESSAGE})"
                              " VALUES (?, ?, ?, ?, ?, ?, ?)",
            "message": f"SELECT {_MESSAGE} FROM dm_messages"
                       " WHERE user_low = ? AND user_high = ? AND message_id = ?",
            "messages": f"SELECT {_MESSAGE} FROM dm_messages"
                        " WHERE user_low = ? AND user_high = ? AND message_id < ? LIMIT ?",
            "unread": "SELECT message_id FROM dm_messages"
                      " WHERE user_low = ? AND user_high = ? AND message_id > ?"
                      f" AND sender_id = ? LIMIT {UNREAD_CAP} ALLOW FILTERING",
            "state": "SELECT user_id, peer_id, last_message_id, last_read_message_id"
                     " FROM dm_conversations WHERE user_id = ? AND peer_id = ?",
            "set_last": "UPDATE dm_conversations USING TIMESTAMP ? SET last_message_id = ?"
                        " WHERE user_id = ? AND peer_id = ?",
            "set_read": "UPDATE dm_conversations USING TIMESTAMP ?"
                        " SET last_read_message_id = ? WHERE user_id = ? AND peer_id = ?",
            "inbox": "SELECT last_message_id, peer_id FROM dm_inbox"
                     " WHERE user_id = ? AND last_message_id < ? LIMIT ?",
            "inbox_add": "INSERT INTO dm_inbox (user_id, last_message_id, peer_id)"
                         " VALUES (?, ?, ?)",
            "inbox_remove": "DELETE FROM dm_inbox WHERE user_id = ? AND last_message_id = ?",
            "claim_key": "INSERT INTO dm_send_keys (sender_id, client_message_id, message_id,"
                         " recipient_id, key_id, fingerprint) VALUES (?, ?, ?, ?, ?, ?)"
                         " IF NOT EXISTS",
            "settings": "SELECT allow_messages_from FROM dm_settings WHERE user_id = ?",
            "set_settings": "UPDATE dm_settings SET allow_messages_from = ? WHERE user_id = ?",
        }
        return cls(cql, {name: await cql.prepare(q) for name, q in queries.items()})

    # Messages ----------------------------------------------------------------------

    async def add(self, message: StoredMessage, previous_last: int = 0) -> None:
        """Writes a message and moves both sides of the conversation to it, all or
        nothing (a logged batch), dropping both inbox rows of `previous_last` (the
        last message the sender saw). Idempotent: a retry rewrites the same rows."""
        pair, mid = message.pair, message.message_id
        ts = write_timestamp(mid)
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(self._s["insert_message"], (
            pair.low, pair.high, mid, message.sender_id, message.sealed.key_id,
            message.sealed.ciphertext, message.client_message_id or None))
        for user, peer in ((pair.low, pair.high), (pair.high, pair.low)):
            batch.add(self._s["set_last"], (ts, mid, user, peer))
            batch.add(self._s["inbox_add"], (user, mid, peer))
            if 0 < previous_last < mid:
                batch.add(self._s["inbox_remove"], (user, previous_last))
        await self._cql.execute(batch)

    async def get(self, pair: Pair, message_id: int) -> StoredMessage | None:
        rows = await self._cql.execute(self._s["message"], (pair.low, pair.high, message_id))
        return _message(pair, rows[0]) if rows else None

    async def page(self, pair: Pair, before: int, limit: int) -> list[StoredMessage]:
        rows = await self._cql.execute(self._s["messages"], (pair.low, pair.high, before, limit))
        return [_message(pair, r) for r in rows]

    async def unread(self, pair: Pair, peer: int, after: int) -> int:
        """Messages from `peer` newer than `after` (up to UNREAD_CAP)."""
        rows = await self._cql.execute(self._s["unread"], (pair.low, pair.high, after, peer))
        return len(rows)

    # Conversations -----------------------------------------------------------------

    async def state(self, user: int, peer: int) -> ConversationState | None:
        rows = await self._cql.execute(self._s["state"], (user, peer))
        if not rows or rows[0]["last_message_id"] is None:
            return None
        return _state(rows[0])

    async def states(self, user: int, peers: list[int]) -> dict[int, ConversationState]:
        results = await self._cql.execute_many((self._s["state"], (user, p)) for p in peers)
        return {r[0]["peer_id"]: _state(r[0]) for r in results
                if r and r[0]["last_message_id"] is not None}

    async def set_read(self, user: int, peer: int, message_id: int) -> None:
        await self._cql.execute(self._s["set_read"],
                                (write_timestamp(message_id), message_id, user, peer))

    async def inbox(self, user: int, before: int, limit: int) -> list[tuple[int, int]]:
        """(last message id, peer) rows, newest first; some may be stale."""
        rows = await self._cql.execute(self._s["inbox"], (user, before, limit))
        return [(r["last_message_id"], r["peer_id"]) for r in rows]

    async def inbox_remove(self, user: int, last_message_ids: list[int]) -> None:
        await self._cql.execute_many((self._s["inbox_remove"], (user, m))
                                     for m in last_message_ids)

    # Idempotency keys and settings -------------------------------------------------

    async def claim_key(self, sender: int, client_message_id: str,
                        key: SendKey) -> SendKey | None:
        """Claims a client_message_id; None when claimed now, else the earlier claim."""
        rows = await self._cql.execute(self._s["claim_key"], (
            sender, client_message_id, key.message_id, key.recipient_id, key.key_id,
            key.fingerprint))
        if applied(rows):
            return None
        row = rows[0]
        return SendKey(row["message_id"], row["recipient_id"], row["key_id"],
                       row["fingerprint"])

    async def allow_from(self, user: int) -> AllowFrom:
        rows = await self._cql.execute(self._s["settings"], (user,))
        value = rows[0]["allow_messages_from"] if rows else None
        return AllowFrom(value) if value else AllowFrom.EVERYONE

    async def set_allow_from(self, user: int, value: AllowFrom) -> None:
        await self._cql.execute(self._s["set_settings"], (int(value), user))
