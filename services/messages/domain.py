"""Direct message rules: plain Python, no gRPC, crypto or driver imports."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from services.shared.errors import PermissionDenied, Validator
from services.shared.fields import text

MAX_CONTENT = 10_000  # Unicode code points after NFC normalisation
MAX_CLIENT_MESSAGE_ID = 64
# Unread messages are counted up to this many (clients show "999+").
UNREAD_CAP = 1_000
_CLIENT_ID_RE = re.compile(r"[\x21-\x7e]{1,64}")  # visible ASCII
_ALLOWED_CONTROLS = {"\n", "\t"}
_INVALID = {"\ufffe", "\ufeff", "\uffff"}


class AllowFrom(IntEnum):
    """The same numbers as twitter.messages.v1.AllowMessagesFrom."""

    EVERYONE = 1
    FOLLOWED = 2


@dataclass(frozen=True)
class Participant:
    user_id: int
    username: str
    display_name: str
    profile_picture_url: str


@dataclass(frozen=True)
class Pair:
    """The two users of a conversation, smaller id first: one partition holds
    their messages whichever of them asks."""

    low: int
    high: int

    @classmethod
    def of(cls, a: int, b: int) -> Pair:
        return cls(min(a, b), max(a, b))


@dataclass(frozen=True)
class Message:
    message_id: int
    sender_id: int
    recipient_id: int
    content: str
    client_message_id: str
    created_at: datetime

    def seen_by(self, viewer: int) -> Message:
        """The message as `viewer` sees it: the idempotency key is the sender's."""
        if viewer == self.sender_id or not self.client_message_id:
            return self
        return Message(self.message_id, self.sender_id, self.recipient_id, self.content, "",
                       self.created_at)


@dataclass(frozen=True)
class ConversationState:
    """One user's side of a conversation."""

    user_id: int
    peer_id: int
    last_message_id: int
    last_read_message_id: int


@dataclass(frozen=True)
class Conversation:
    peer: Participant
    last_message: Message
    unread_count: int
    last_read_message_id: int
    updated_at: datetime


def validate_send(sender: int, recipient: int, content: str, client_message_id: str) -> str:
    """The content to store (NFC); INVALID_ARGUMENT for anything the contract refuses."""
    v = Validator()
    v.check(recipient > 0, "recipient_user_id", "is required")
    v.check(recipient != sender, "recipient_user_id", "you cannot message yourself")
    content = unicodedata.normalize("NFC", content)
    for problem in text.problems(content, required=True):
        v.check(False, "content", problem)
    v.check(len(content) <= MAX_CONTENT, "content", f"at most {MAX_CONTENT} characters")
    v.check(not any((unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS)
                    or c in _INVALID for c in content),
            "content", "must not contain control characters other than newline and tab")
    v.check(not client_message_id or bool(_CLIENT_ID_RE.fullmatch(client_message_id)),
            "client_message_id",
            f"at most {MAX_CLIENT_MESSAGE_ID} visible ASCII characters")
    v.raise_if_any()
    return content


def check_may_message(setting: AllowFrom, recipient_follows_sender: bool) -> None:
    if setting is AllowFrom.FOLLOWED and not recipient_follows_sender:
        raise PermissionDenied("this user only accepts messages from people they follow")
