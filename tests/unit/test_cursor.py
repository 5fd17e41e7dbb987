"""Page tokens (services/shared/paging/cursor.py): typed, scoped, signed, and the
limit + 1 paging every list shares."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import NamedTuple

import pytest

from services.shared.errors import InvalidArgument
from services.shared.paging.cursor import LastId, ListCursor, default_secret, sign, trim

SECRET = b"k" * 32


class FollowKey(NamedTuple):
    at: datetime
    user_id: int
    name: str


FOLLOWS = ListCursor("test.follows", FollowKey, secret=SECRET)
IDS = ListCursor("test.ids", LastId, secret=SECRET)
KEY = FollowKey(datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 42, "bob")


def rejected(cursor: ListCursor[FollowKey] | ListCursor[LastId], token: str,
             owner: int = 7) -> str:
    with pytest.raises(InvalidArgument) as caught:
        cursor.decode(token, owner)
    assert caught.value.violations[0].field == "page_token"
    return caught.value.violations[0].description


def test_round_trip_keeps_types() -> None:
    token = FOLLOWS.encode(7, KEY)
    assert FOLLOWS.decode(token, 7) == KEY
    assert IDS.decode(IDS.encode(7, LastId((1 << 63) - 1)), 7) == LastId((1 << 63) - 1)
    assert IDS.decode("", 7) is None


def test_tokens_are_compact_and_url_safe() -> None:
    token = IDS.encode(123, LastId(1_900_000_000_000_000_000))
    assert len(token) < 60
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_another_owner_or_list_is_refused() -> None:
    assert rejected(FOLLOWS, FOLLOWS.encode(8, KEY)) == "was not issued for this list"
    other_list = ListCursor("test.other", LastId, secret=SECRET)
    assert rejected(IDS, other_list.encode(7, LastId(5))) == "was not issued for this list"
    # the owner's type is part of the scope: a user id is not a query string
    assert rejected(IDS, IDS.encode("7", LastId(5))) == "was not issued for this list"


def test_another_key_is_refused() -> None:
    foreign = ListCursor("test.ids", LastId, secret=b"x" * 32)
    rejected(IDS, foreign.encode(7, LastId(5)))


def test_tampering_is_refused() -> None:
    token = IDS.encode(7, LastId(5))
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for i in range(len(raw)):
        flipped = raw.copy()
        flipped[i] ^= 1
        rejected(IDS, base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("="))
    rejected(IDS, token[:-2])
    rejected(IDS, token + "AA")


@pytest.mark.parametrize("garbage", ["%%%", "é", "zzz", "A", "bm90IGpzb24", "=" * 8])
def test_garbage_is_refused(garbage: str) -> None:
    rejected(IDS, garbage)


@pytest.mark.parametrize("values", [
    ["x"], [True], [1.5], [None], [1 << 63], [[1]], [{"id": 1}], [], [1, 2],
])
def test_signed_values_of_the_wrong_type_are_refused(values: list[object]) -> None:
    assert rejected(IDS, sign("test.ids", 7, values, secret=SECRET)) \
        == "is not a valid page token"


@pytest.mark.parametrize("values", [
    ["2026-01-02", 42, "bob"],  # a naive time
    ["not a time", 42, "bob"],
    [1767322800, 42, "bob"],
    ["2026-01-02T00:00:00+00:00", "42", "bob"],
    ["2026-01-02T00:00:00+00:00", 42, 3],
])
def test_each_field_is_checked(values: list[object]) -> None:
    rejected(FOLLOWS, sign("test.follows", 7, values, secret=SECRET))


def test_trim() -> None:
    assert trim([1, 2, 3], 2) == ([1, 2], 2)
    assert trim([1, 2], 2) == ([1, 2], None)
    assert trim([], 2) == ([], None)


def test_page_request_pages_with_limit_plus_one() -> None:
    req = IDS.request(7, 2, "")
    assert (req.limit, req.fetch_size, req.after) == (2, 3, None)
    rows = [30, 20, 10]
    page, token = req.page(rows, LastId)
    assert page == [30, 20]
    following = IDS.request(7, 2, token)
    assert following.after == LastId(20)
    assert following.page([10], LastId) == ([10], "")  # the end: no token
    assert req.token(None) == ""


def test_page_request_clamps_sizes() -> None:
    assert IDS.request(7, 0, "").limit == 20
    assert IDS.request(7, 500, "").limit == 100
    assert IDS.request(7, 0, "", default=5000, maximum=10000).limit == 5000
    with pytest.raises(InvalidArgument):
        IDS.request(7, -1, "")


def test_default_secret_comes_from_the_internal_token(monkeypatch: pytest.MonkeyPatch) -> None:
    default_secret.cache_clear()
    monkeypatch.setenv("INTERNAL_TOKEN", "one" * 16)
    one = ListCursor("test.ids", LastId).encode(7, LastId(5))
    default_secret.cache_clear()
    monkeypatch.setenv("INTERNAL_TOKEN", "two" * 16)
    try:
        rejected(ListCursor("test.ids", LastId), one)
        assert b"two" * 16 not in default_secret()
    finally:
        default_secret.cache_clear()
