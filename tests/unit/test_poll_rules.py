"""Poll rules (services/tweets/polls/rules.py): options and duration, every bad
field named at once, and who sees the results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.shared.errors import InvalidArgument
from services.tweets.polls.rules import PollDefinition, results_visible, validate_poll

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TEN_MINUTES = timedelta(minutes=10)


def fields(options: list[str], duration: timedelta | None,
           min_duration: timedelta = timedelta(minutes=5)) -> set[str]:
    with pytest.raises(InvalidArgument) as caught:
        validate_poll(options, duration, created_at=NOW, min_duration=min_duration)
    return {v.field for v in caught.value.violations}


def test_a_valid_poll_is_normalized_and_ends_after_its_duration() -> None:
    poll = validate_poll([" Cafe\u0301 ", "tea"], TEN_MINUTES, created_at=NOW)
    assert poll.options == ("Café", "tea")  # NFC, trimmed
    assert poll.ends_at == NOW + TEN_MINUTES
    assert poll.has_position(2)
    assert not poll.has_position(0)
    assert not poll.has_position(3)


@pytest.mark.parametrize(("options", "bad"), [
    (["one"], {"poll.options"}),
    (["a", "b", "c", "d", "e"], {"poll.options"}),
    ([], {"poll.options"}),
    (["x" * 26, "b"], {"poll.options[0]"}),
    (["a", "\u200b"], {"poll.options[1]"}),
    (["a", "b\x07"], {"poll.options[1]"}),
    (["a", "\u202eb"], {"poll.options[1]"}),
    (["Same", "same "], {"poll.options"}),
])
def test_bad_options_are_named(options: list[str], bad: set[str]) -> None:
    assert fields(options, TEN_MINUTES) == bad


def test_25_characters_are_counted_as_code_points_after_nfc() -> None:
    decomposed = "e\u0301" * 25  # 50 code points before NFC, 25 after
    assert validate_poll([decomposed, "b"], TEN_MINUTES, created_at=NOW).options[0] == "é" * 25


@pytest.mark.parametrize("duration", [None, timedelta(minutes=4, seconds=59),
                                      timedelta(days=7, seconds=1),
                                      timedelta(minutes=10, microseconds=5)])
def test_bad_durations_are_named(duration: timedelta | None) -> None:
    assert fields(["a", "b"], duration) == {"poll.duration"}


def test_every_bad_field_at_once_and_a_lower_minimum_by_setting() -> None:
    assert fields(["a"], timedelta(seconds=1)) == {"poll.options", "poll.duration"}
    short = validate_poll(["a", "b"], timedelta(seconds=2), created_at=NOW,
                          min_duration=timedelta(seconds=2))
    assert short.ends_at == NOW + timedelta(seconds=2)
    assert validate_poll(["a", "b"], timedelta(days=7), created_at=NOW).ends_at == \
        NOW + timedelta(days=7)


def test_results_show_to_the_author_a_voter_and_everyone_after_the_end() -> None:
    poll = PollDefinition(("a", "b"), NOW + TEN_MINUTES)
    before, after = NOW, NOW + TEN_MINUTES
    assert results_visible(poll, author=1, viewer=1, viewer_vote=0, now=before)
    assert results_visible(poll, author=1, viewer=2, viewer_vote=2, now=before)
    assert not results_visible(poll, author=1, viewer=3, viewer_vote=0, now=before)
    assert results_visible(poll, author=1, viewer=3, viewer_vote=0, now=after)
    assert poll.ended(after)
    assert not poll.ended(before)
