"""List rules without a store: who sees and edits a list, and what a name
and description may hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.shared.errors import InvalidArgument, NotFound, PermissionDenied
from services.users.domain import UserRecord
from services.users.lists.rules import ListRecord, clean_fields, require_owner, require_visible

NOW = datetime.now(UTC)
OWNER = UserRecord(1, "owner", "Owner", "", "", "", "", 0, 0, NOW)


def a_list(*, private: bool = False, owner_blocks_viewer: bool = False) -> ListRecord:
    return ListRecord(10, OWNER, "name", "", private, 0, 0, NOW, False, owner_blocks_viewer)


def test_private_and_blocking_owners_lists_are_absent_to_others() -> None:
    assert require_visible(a_list(private=True), 1).list_id == 10
    for hidden in (a_list(private=True), a_list(owner_blocks_viewer=True), None):
        with pytest.raises(NotFound, match="list not found"):
            require_visible(hidden, 2)


def test_only_the_owner_edits_a_visible_list() -> None:
    assert require_owner(a_list(), 1).list_id == 10
    with pytest.raises(PermissionDenied):
        require_owner(a_list(), 2)
    with pytest.raises(NotFound):
        require_owner(a_list(private=True), 2)


def test_fields_are_trimmed_normalised_and_checked_together() -> None:
    assert clean_fields(name="  Cafe\u0301  ", description=None) == {"name": "Caf\u00e9"}
    assert clean_fields(name=None, description="") == {"description": ""}
    assert len(clean_fields(name="x" * 25, description="d" * 100)) == 2
    with pytest.raises(InvalidArgument) as caught:
        clean_fields(name="x" * 26, description="d" * 101)
    assert {v.field for v in caught.value.violations} == {"name", "description"}
    for bad in ("", "   ", "\u200b", "a\x07b", "a\u202eb"):
        with pytest.raises(InvalidArgument):
            clean_fields(name=bad, description=None)
