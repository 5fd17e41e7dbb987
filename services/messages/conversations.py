"""Sending, listing and reading direct messages (service layer). The caller's id
comes in explicitly; every conversation is addressed from the caller's side."""

from __future__ import annotations

import asyncio
import hmac
from typing import Protocol

from services.messages.crypto import MessageCipher
from services.messages.domain import (
    AllowFrom,
    Conversation,
    ConversationState,
    Message,
    Pair,
    Participant,
    check_may_message,
    validate_send,
)
from services.messages.repository import MessageStore, SendKey, StoredMessage
from services.shared.errors import AlreadyExists, NotFound, PermissionDenied
from services.shared.paging.cursor import LastId, ListCursor, last_id
from services.shared.snowflake.ids import IdGenerator, id_time
from services.users.client.relations import RelationsCache

_END = (1 << 63) - 1  # "before the end": the first page
# Both newest first by message id; a conversation's tokens serve both its users.
MESSAGES = ListCursor("messages.messages", LastId)
CONVERSATIONS = ListCursor("messages.conversations", LastId)


class Users(Protocol):
    async def participants(self, user_ids: set[int]) -> dict[int, Participant]: ...

    async def follows(self, follower: int, followee: int) -> bool: ...


class Messenger:
    def __init__(self, store: MessageStore, cipher: MessageCipher, users: Users,
                 ids: IdGenerator, relations: RelationsCache) -> None:
        self._relations = relations
        self._store = store
        self._cipher = cipher
        self._users = users
        self._ids = ids

    # Sending -----------------------------------------------------------------------

    async def send(self, sender: int, recipient: int, content: str,
                   client_message_id: str = "") -> Message:
        content = validate_send(sender, recipient, content, client_message_id)
        people, allow_from, states, relations = await asyncio.gather(
            self._users.participants({recipient}), self._store.allow_from(recipient),
            self._store.states(sender, [recipient]), self._relations.of(sender))
        # To the blocked user the blocker does not exist: the same NOT_FOUND as
        # for a missing user; the blocker, who knows, is told (docs/SECURITY.md).
        if recipient in relations.blocked:
            raise PermissionDenied("you block this user: unblock them first")
        if recipient not in people or recipient in relations.blocked_by:
            raise NotFound("recipient not found")
        if allow_from is AllowFrom.FOLLOWED:
            check_may_message(allow_from, await self._users.follows(recipient, sender))
        pair = Pair.of(sender, recipient)
        message_id = self._ids.next_id()
        if client_message_id:
            earlier = await self._claim(sender, recipient, content, client_message_id,
                                        message_id)
            if earlier is not None:
                stored = await self._store.get(pair, earlier)
                if stored is not None:
                    return self._open(stored)
                message_id = earlier  # the first attempt failed half-way: finish it
        stored = StoredMessage(pair, message_id, sender,
                               self._cipher.seal(pair, message_id, sender, content),
                               client_message_id)
        # Both sides' previous inbox rows go in the same batch (readers skip and
        # remove any that a concurrent send leaves behind).
        previous = states.get(recipient)
        await self._store.add(stored, previous.last_message_id if previous else 0)
        return Message(message_id, sender, recipient, content, client_message_id,
                       id_time(message_id))

    async def _claim(self, sender: int, recipient: int, content: str, client_message_id: str,
                     message_id: int) -> int | None:
        """None when this send owns client_message_id; else the id of the message
        first sent under it (ALREADY_EXISTS when that was a different message)."""
        key_id = self._cipher.primary_key_id
        fingerprint = self._cipher.fingerprint(key_id, recipient, content)
        assert fingerprint is not None
        earlier = await self._store.claim_key(
            sender, client_message_id, SendKey(message_id, recipient, key_id, fingerprint))
        if earlier is None:
            return None
        expected = self._cipher.fingerprint(earlier.key_id, recipient, content)
        if earlier.recipient_id != recipient or expected is None \
                or not hmac.compare_digest(expected, earlier.fingerprint):
            raise AlreadyExists("client_message_id was already used for another message")
        return earlier.message_id

    # Reading -----------------------------------------------------------------------

    async def list_messages(self, caller: int, peer: int, page_size: int,
                            page_token: str) -> tuple[list[Message], str]:
        pair = Pair.of(caller, peer)
        req = MESSAGES.request((pair.low, pair.high), page_size, page_token)
        await self._require_state(caller, peer)
        rows = await self._store.page(pair, last_id(req) or _END, req.fetch_size)
        page, token = req.page(rows, lambda r: LastId(r.message_id))
        return [self._open(r).seen_by(caller) for r in page], token

    async def list_conversations(self, caller: int, page_size: int,
                                 page_token: str) -> tuple[list[Conversation], str]:
        req = CONVERSATIONS.request(caller, page_size, page_token)
        size, before = req.limit, last_id(req) or _END
        chosen: list[ConversationState] = []
        exhausted = False
        while len(chosen) < size and not exhausted:
            want = size - len(chosen)
            rows = await self._store.inbox(caller, before, want)
            exhausted = len(rows) < want
            if not rows:
                break
            before = rows[-1][0]
            states = await self._store.states(caller, list({peer for _, peer in rows}))
            stale = []
            for newest, peer in rows:
                state = states.get(peer)
                if state is not None and state.last_message_id == newest:
                    chosen.append(state)
                elif state is not None and newest < state.last_message_id:
                    stale.append(newest)
                # else: a send still being written; its row shows once complete
            if stale:
                await self._store.inbox_remove(caller, stale)
        more = not exhausted and bool(await self._store.inbox(caller, before, 1))
        conversations = await self._describe(caller, chosen)
        return conversations, req.token(LastId(before) if more else None)

    async def _describe(self, caller: int,
                        states: list[ConversationState]) -> list[Conversation]:
        people = await self._users.participants({s.peer_id for s in states})

        async def one(state: ConversationState) -> Conversation | None:
            pair = Pair.of(caller, state.peer_id)
            last, unread = await asyncio.gather(
                self._store.get(pair, state.last_message_id),
                self._store.unread(pair, state.peer_id, state.last_read_message_id))
            if last is None:
                return None  # the batch that moved the conversation is still landing
            peer = people.get(state.peer_id) or Participant(state.peer_id, "", "", "")
            return Conversation(peer, self._open(last).seen_by(caller), unread,
                                state.last_read_message_id, id_time(state.last_message_id))

        found = await asyncio.gather(*(one(s) for s in states))
        return [c for c in found if c is not None]

    async def mark_read(self, caller: int, peer: int, up_to: int) -> tuple[int, int]:
        """Moves the caller's read position forward; (unread count, read position)."""
        state = await self._require_state(caller, peer)
        pair = Pair.of(caller, peer)
        if up_to:
            if up_to < 0 or await self._store.get(pair, up_to) is None:
                raise NotFound("message not found in this conversation")
        else:
            up_to = state.last_message_id
        if up_to > state.last_read_message_id:
            await self._store.set_read(caller, peer, up_to)
        position = max(up_to, state.last_read_message_id)
        return await self._store.unread(pair, peer, position), position

    async def _require_state(self, caller: int, peer: int) -> ConversationState:
        state = await self._store.state(caller, peer) if peer > 0 else None
        if state is None:
            raise NotFound("conversation not found")
        return state

    # Settings ----------------------------------------------------------------------

    async def allow_from(self, caller: int) -> AllowFrom:
        return await self._store.allow_from(caller)

    async def set_allow_from(self, caller: int, value: AllowFrom | None) -> AllowFrom:
        if value is not None:
            await self._store.set_allow_from(caller, value)
            return value
        return await self._store.allow_from(caller)

    def _open(self, stored: StoredMessage) -> Message:
        content = self._cipher.open(stored.pair, stored.message_id, stored.sender_id,
                                    stored.sealed)
        return Message(stored.message_id, stored.sender_id, stored.recipient_id, content,
                       stored.client_message_id, id_time(stored.message_id))
