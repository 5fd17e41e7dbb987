"""Page-size clamping (DESIGN: default 20, max 100). Page tokens are in cursor.py."""

from __future__ import annotations

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
