"""Page tokens: typed, scoped to one list of one owner, and signed.

A token carries the sort key of the last row served, as a JSON array of the
fields its list declares (a NamedTuple), followed by an HMAC over the list's
name, the owner the list was read for (a user, tweet or conversation id, a
query) and that array. So a token from another list or owner, a tampered one,
or one whose fields have the wrong types is INVALID_ARGUMENT, never a 500: no
list ever parses a value it did not issue itself.

The key is derived from the internal token every service already shares, so a
token issued by one process of a service pages on any other.

Every list pages the same way through `PageRequest`: fetch `fetch_size`
(limit + 1) rows, then `page()` trims to the limit and makes the next token from
the last row's key, empty at the end.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from services.shared.config import AuthSettings
from services.shared.errors import InvalidArgument
from services.shared.paging.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, clamp_page_size

K = TypeVar("K", bound=tuple[Any, ...])  # a NamedTuple: the list's sort key
R = TypeVar("R")

# Whom a list belongs to: a user, tweet or conversation, or a search query.
Owner = int | str | tuple[int, ...]

MAC_BYTES = 16  # 128 bits: forging stays out of reach, tokens stay short
_CONTEXT = b"twitter-mesh page tokens v1"
_INT64 = range(-(1 << 63), 1 << 63)


class LastId(NamedTuple):
    """The key of lists ordered by one id (most of them)."""

    id: int


@functools.cache  # settings are read once, on first use
def default_secret() -> bytes:
    """The page-token key of this deployment: derived from, never equal to, the
    internal token (a token's MAC must not help anyone guess that)."""
    internal = AuthSettings().internal_token.get_secret_value()
    return hmac.new(internal.encode(), _CONTEXT, hashlib.sha256).digest()


def _mac(secret: bytes, name: str, owner: Owner, payload: bytes) -> bytes:
    # JSON keeps the scope unambiguous (1 and "1" differ; no separator can be forged).
    scope = json.dumps([name, owner], separators=(",", ":")).encode()
    return hmac.new(secret, scope + b"\0" + payload, hashlib.sha256).digest()[:MAC_BYTES]


def sign(name: str, owner: Owner, values: Sequence[Any], *, secret: bytes | None = None) -> str:
    """A token for list `name` of `owner` carrying `values` as they are (JSON
    values, unchecked): what ListCursor.encode builds on, and what tests use to
    make a validly signed token with the wrong field types."""
    payload = json.dumps(list(values), separators=(",", ":")).encode()
    raw = payload + _mac(secret or default_secret(), name, owner, payload)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(description: str) -> InvalidArgument:
    return InvalidArgument.field("page_token", description)


def _verified_values(token: str, name: str, owner: Owner, secret: bytes) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError as exc:  # binascii.Error, non-ASCII text
        raise _invalid("is not a valid page token") from exc
    payload, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, _mac(secret, name, owner, payload)):
        raise _invalid("was not issued for this list")  # tampered, or another list's or owner's
    try:
        values = json.loads(payload)
    except ValueError as exc:
        raise _invalid("is not a valid page token") from exc
    if not isinstance(values, list):
        raise _invalid("is not a valid page token")
    return values


def _encode_field(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode_field(kind: type, value: Any) -> Any:
    """The value as `kind`; ValueError for anything else."""
    if kind is int and type(value) is int and value in _INT64:  # bool is not an int here
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is datetime and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:  # every stored time is UTC-aware
            return parsed
    raise ValueError(f"not a {kind.__name__}: {value!r}")


class ListCursor(Generic[K]):
    """The tokens of one list: `name` (unique, "<service>.<list>") and the
    NamedTuple `key` whose fields (int, str, datetime) a token carries."""

    def __init__(self, name: str, key: type[K], *, secret: bytes | None = None) -> None:
        self.name = name
        self._key = key
        self._secret = secret

    @functools.cached_property
    def _types(self) -> tuple[type, ...]:
        # Resolved on first use: the NamedTuple's module has finished importing by then.
        return tuple(typing.get_type_hints(self._key).values())

    @property
    def secret(self) -> bytes:
        return self._secret or default_secret()

    def encode(self, owner: Owner, key: K) -> str:
        return sign(self.name, owner, [_encode_field(v) for v in key], secret=self.secret)

    def decode(self, token: str, owner: Owner) -> K | None:
        """The key a token carries; None for the first page (an empty token)."""
        if not token:
            return None
        values = _verified_values(token, self.name, owner, self.secret)
        if len(values) != len(self._types):
            raise _invalid("is not a valid page token")
        try:
            return self._key(*(_decode_field(t, v) for t, v in zip(self._types, values,
                                                                    strict=True)))
        except ValueError as exc:
            raise _invalid("is not a valid page token") from exc

    def request(self, owner: Owner, page_size: int, page_token: str, *,
                default: int = DEFAULT_PAGE_SIZE,
                maximum: int = MAX_PAGE_SIZE) -> PageRequest[K]:
        """A page request of this list: its clamped size and where it starts."""
        limit = clamp_page_size(page_size, default=default, maximum=maximum)
        return PageRequest(self, owner, limit, self.decode(page_token, owner))


@dataclass(frozen=True)
class PageRequest(Generic[K]):
    cursor: ListCursor[K]
    owner: Owner
    limit: int
    after: K | None  # the key of the last row of the previous page; None for the first

    @property
    def fetch_size(self) -> int:
        """How many rows to read: one more than the page tells whether another follows."""
        return self.limit + 1

    def token(self, last: K | None) -> str:
        """The next page's token: after `last`; empty at the end (None)."""
        return "" if last is None else self.cursor.encode(self.owner, last)

    def page(self, rows: Sequence[R], key: Callable[[R], K]) -> tuple[list[R], str]:
        """The page out of `fetch_size` rows, and the next page's token."""
        shown, last = trim(rows, self.limit)
        return shown, self.token(None if last is None else key(last))


def last_id(req: PageRequest[LastId]) -> int | None:
    """The id the previous page ended at (None for the first page)."""
    return req.after.id if req.after else None


def trim(rows: Sequence[R], limit: int) -> tuple[list[R], R | None]:
    """The first `limit` of up to limit + 1 rows, and the last of them when more
    follow (None at the end)."""
    shown = list(rows[:limit])
    return shown, shown[-1] if len(rows) > limit and shown else None
