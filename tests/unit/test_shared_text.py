"""Text people read: empty-looking text and bidirectional controls (issue 31)."""

from __future__ import annotations

import pytest

from services.shared.fields import text


@pytest.mark.parametrize("value", [
    "", " \t\n", "\u200b\u200b", "\u200c\u200d\u2060\ufeff", "\u3164", "\u2800 \u115f",
    "\ufe0f", "\U000e0041", "\u00a0\u2028",
])
def test_invisible_only_looks_empty(value: str) -> None:
    assert text.looks_empty(value)
    assert text.problems(value, required=True) == [text.LOOKS_EMPTY]


@pytest.mark.parametrize("value", ["a", "\u200ba", "\u05e9\u05dc\u05d5\u05dd", "\U0001f600",
                                   ".", "\u200fhello\u200e"])
def test_anything_visible_does_not(value: str) -> None:
    assert not text.looks_empty(value)
    assert text.problems(value, required=True) == []


@pytest.mark.parametrize("control", sorted(text.BIDI_CONTROLS))
def test_bidi_overrides_embeddings_and_isolates_are_refused(control: str) -> None:
    assert text.problems(f"{control}admin", required=False) == [text.HAS_BIDI_CONTROLS]


def test_a_blank_optional_field_is_fine_but_zero_width_is_not() -> None:
    assert text.problems("", required=False) == []
    assert text.problems("\u200b", required=False) == [text.LOOKS_EMPTY]
