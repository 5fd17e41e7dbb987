"""Rules every service applies to text people read (display names, profile
fields, tweets, messages), beside each field's own limits: text that looks
empty is empty, and bidirectional overrides, embeddings and isolates are
refused (issue 31).

Why refuse rather than isolate: an override (U+202E) reorders everything
after it, so "\u202egnp.exe" shows as "exe.png", and a name made of it can
pose as another; an embedding or isolate can be used the same way inside a
line. Wrapping stored text in isolates would change what clients get back
from what they sent. Usernames cannot carry any of this: they are ASCII
letters, digits and underscores (services/users/domain.py). The implicit
marks U+200E, U+200F and U+061C stay allowed: they reorder nothing, only
attach neutral characters (punctuation) to a direction, which right-to-left
writing needs.
"""

from __future__ import annotations

import unicodedata

# LRE RLE PDF LRO RLO, LRI RLI FSI PDI (Unicode Bidirectional Algorithm, UAX #9).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols that render as nothing (Hangul fillers, the Braille
# blank, the Khmer inherent vowels, the combining grapheme joiner, the
# Mongolian vowel separator) and variation selectors without a base.
_BLANK_LOOKING = frozenset(
    "\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u034f\u180e"
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
    + "".join(chr(c) for c in range(0xE0100, 0xE01F0)))
# Controls, format characters (zero-width space and joiners, word joiner,
# BOM, tags...), and separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})

LOOKS_EMPTY = "must not be empty or only invisible characters"
HAS_BIDI_CONTROLS = "must not contain bidirectional override, embedding or isolate characters"


def is_invisible(c: str) -> bool:
    return c.isspace() or c in _BLANK_LOOKING or \
        unicodedata.category(c) in _INVISIBLE_CATEGORIES


def looks_empty(value: str) -> bool:
    """True when nothing in `value` would show: empty, whitespace, zero-width
    and other invisible characters only."""
    return all(is_invisible(c) for c in value)


def has_bidi_controls(value: str) -> bool:
    return any(c in BIDI_CONTROLS for c in value)


def problems(value: str, *, required: bool) -> list[str]:
    """What is wrong with `value` by these rules (as field violation texts):
    looking empty counts when the field is `required` or `value` is not
    truly empty (only zero-width characters is never a deliberate blank)."""
    found: list[str] = []
    if (required or value) and looks_empty(value):
        found.append(LOOKS_EMPTY)
    if has_bidi_controls(value):
        found.append(HAS_BIDI_CONTROLS)
    return found
