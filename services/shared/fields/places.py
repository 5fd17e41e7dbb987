"""Coarse places: ISO 3166-1 alpha-2 country codes, checked against pycountry's
list (kept current by its maintainers). Tweets may carry one; trends are
counted per place."""

from __future__ import annotations

import pycountry

from services.shared.errors import InvalidArgument

_CODES = frozenset(c.alpha_2 for c in pycountry.countries)


def normalize_place(raw: str, field: str = "place") -> str:
    """The upper-case country code, or "" for none; INVALID_ARGUMENT otherwise."""
    code = raw.strip().upper()
    if code and code not in _CODES:
        raise InvalidArgument.field(field, "must be an ISO 3166-1 alpha-2 country code")
    return code
