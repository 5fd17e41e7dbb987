"""Tweet rules and entity extraction: pure functions, no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.shared.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.shared.fields import text
from services.shared.snowflake.ids import IdGenerator
from services.tweets.domain import (
    Kind,
    Revision,
    TweetRecord,
    check_editable,
    validate_content,
    validate_media_ids,
)
from services.tweets.entities import extract
from services.tweets.repository import write_time

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def tweet(user_id: int = 1, created: datetime = NOW, kind: Kind = Kind.ORIGINAL) -> TweetRecord:
    return TweetRecord(1, user_id, kind, Revision(1, "x", [], [], [], created), [], created,
                       None, 0, 0, 0, 0, 0, False)


def violations(exc: pytest.ExceptionInfo[InvalidArgument]) -> list[str]:
    return [v.description for v in exc.value.violations]


def test_280_code_points_is_the_limit_counted_after_nfc() -> None:
    assert validate_content("a" * 280, has_media=False) == "a" * 280
    with pytest.raises(InvalidArgument):
        validate_content("a" * 281, has_media=False)
    # "e" + combining acute is one character after NFC, so 280 of them fit ...
    assert len(validate_content("e\u0301" * 280, has_media=False)) == 280
    # ... and an emoji outside the BMP is one code point, not two UTF-16 units or four bytes.
    assert validate_content("😀" * 280, has_media=False) == "😀" * 280


@pytest.mark.parametrize("content", ["", "   ", "\n\t \n", "\u3000"])
def test_empty_or_whitespace_only_is_rejected_without_media(content: str) -> None:
    with pytest.raises(InvalidArgument) as exc:
        validate_content(content, has_media=False)
    assert violations(exc) == [text.LOOKS_EMPTY]
    assert validate_content(content, has_media=True) == ""


@pytest.mark.parametrize("content", ["bell\x07", "nul\x00x", "esc\x1b[31m", "del\x7f", "\ufeffbom"])
def test_control_characters_are_rejected(content: str) -> None:
    with pytest.raises(InvalidArgument):
        validate_content(content, has_media=False)


def test_newlines_stay_and_crlf_becomes_lf_and_edges_are_trimmed() -> None:
    assert validate_content("  one\r\ntwo\n ", has_media=False) == "one\ntwo"


def test_media_ids_are_checked_for_format_count_and_repeats() -> None:
    ids = IdGenerator.fixed(1)
    good = [ids.next_id() for _ in range(4)]
    assert validate_media_ids(good, datetime.now(UTC)) == good
    for bad in ([*good, ids.next_id()], [good[0], good[0]], [0], [-5]):
        with pytest.raises(InvalidArgument):
            validate_media_ids(bad, datetime.now(UTC))


def test_only_the_author_may_edit_within_30_minutes_and_never_a_retweet() -> None:
    check_editable(tweet(), 1, NOW + timedelta(minutes=29))
    with pytest.raises(PermissionDenied):
        check_editable(tweet(), 2, NOW)
    with pytest.raises(FailedPrecondition):
        check_editable(tweet(), 1, NOW + timedelta(minutes=30, seconds=1))
    with pytest.raises(FailedPrecondition):
        check_editable(tweet(kind=Kind.RETWEET), 1, NOW)


def test_hashtags_lowercased_unique_in_order_any_script() -> None:
    found = extract("#Python rocks #python #日本語 #123 #a1 #café #ok_go x#no &#39; #हिन्दी")
    assert found.hashtags == ["python", "日本語", "a1", "café", "ok_go", "हिन्दी"]


def test_fullwidth_marks_count_as_hash_and_at() -> None:
    found = extract("\uff03tag \uff20someone")
    assert found.hashtags == ["tag"]
    assert found.mention_names == ["someone"]


def test_mentions_skip_emails_long_names_and_repeats() -> None:
    found = extract("@alice hi @Bob_1, mail bob@example.com @ALICE @sixteen_chars_xx @a@b (@carol)")
    assert found.mention_names == ["alice", "Bob_1", "carol"]


def test_urls_need_a_scheme_and_lose_trailing_punctuation() -> None:
    text = ("see https://example.com/a?b=1#frag, (http://x.org/wiki/A_(b)) and"
            " https://example.com/@user. not ftp://x.org nor example.com nor https://nodot/")
    found = extract(text)
    assert found.urls == ["https://example.com/a?b=1#frag", "http://x.org/wiki/A_(b)",
                          "https://example.com/@user"]
    # The '#' and '@' inside URLs are neither hashtags nor mentions.
    assert found.hashtags == []
    assert found.mention_names == []


def test_index_writes_are_outranked_by_their_delete() -> None:
    ids = IdGenerator.fixed(2)
    a, b = ids.next_id(), ids.next_id()
    assert write_time(a) < write_time(a) + 1 <= write_time(b) + 1
    assert write_time(a) % 1000 == 0  # microseconds from the id's milliseconds
