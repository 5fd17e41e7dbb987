"""Opaque cursor page tokens and page-size clamping (DESIGN: cursor-based, never OFFSET)."""

from __future__ import annotations

import base64
import json
from typing import Any

from services.shared.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def clamp_page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE,
                    maximum: int = MAX_PAGE_SIZE) -> int:
    """0 means the default; above the maximum means the maximum; negative is an error."""
    if requested < 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    if requested == 0:
        return default
    return min(requested, maximum)


def encode_token(cursor: dict[str, Any]) -> str:
    """Turns a cursor (the sort key of the last row served) into an opaque token."""
    raw = json.dumps(cursor, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, *, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """Parses a token made by encode_token; None for the first page.

    A token that does not parse or lacks a key is INVALID_ARGUMENT, never a 500.
    """
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        cursor = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument.field("page_token", "is not a valid page token") from exc
    if not isinstance(cursor, dict) or any(k not in cursor for k in keys):
        raise InvalidArgument.field("page_token", "is not a valid page token")
    return cursor
