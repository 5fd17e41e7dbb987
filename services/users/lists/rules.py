"""List rules, plain Python: what a list is, who may see and edit it, and
what its name and description may hold.

Visibility follows blocks everywhere else: a private list exists only for its
owner, and the lists of an owner who blocks the viewer do not exist for the
viewer (NOT_FOUND in both cases, word for word as for a missing list). A
visible list of someone else's may be read but not edited (PERMISSION_DENIED).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from services.shared.errors import NotFound, PermissionDenied, Validator
from services.shared.fields import text
from services.users.client.lists import LIST_NOT_FOUND
from services.users.domain import UserRecord, has_control_chars, text_length

MAX_MEMBERS = 5000  # Twitter's cap; the lists table checks it too
MAX_LISTS_PER_OWNER = 1000
NAME_MAX = 25
DESCRIPTION_MAX = 100


@dataclass(frozen=True)
class ListRecord:
    list_id: int
    owner: UserRecord
    name: str
    description: str
    private: bool
    member_count: int
    follower_count: int
    created_at: datetime
    following: bool  # whether the viewer it was read for follows it
    owner_blocks_viewer: bool

    @property
    def owner_id(self) -> int:
        return self.owner.user_id

    def visible_to(self, viewer: int) -> bool:
        if viewer == self.owner_id:
            return True
        return not self.private and not self.owner_blocks_viewer


@dataclass(frozen=True)
class MemberRecord:
    user: UserRecord
    added_at: datetime


def require_visible(record: ListRecord | None, viewer: int) -> ListRecord:
    if record is None or not record.visible_to(viewer):
        raise NotFound(LIST_NOT_FOUND)
    return record


def require_owner(record: ListRecord | None, caller: int) -> ListRecord:
    visible = require_visible(record, caller)
    if visible.owner_id != caller:
        raise PermissionDenied("only the list's owner may change it")
    return visible


def clean_fields(*, name: str | None, description: str | None) -> dict[str, str]:
    """The fields given, normalised (NFC, trimmed) and checked together, so a
    client learns about every bad field at once."""
    v = Validator()
    cleaned: dict[str, str] = {}
    for field, raw, limit, required in (("name", name, NAME_MAX, True),
                                        ("description", description, DESCRIPTION_MAX, False)):
        if raw is None:
            continue
        value = unicodedata.normalize("NFC", raw.strip())
        if required:
            v.check(value != "", field, "is required")
        v.check(text_length(value) <= limit, field, f"must be at most {limit} characters")
        v.check(not has_control_chars(value), field, "must not contain control characters")
        for problem in text.problems(value, required=required and value != ""):
            v.check(False, field, problem)
        cleaned[field] = value
    v.raise_if_any()
    return cleaned
