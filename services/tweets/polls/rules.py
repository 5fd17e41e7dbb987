"""Poll rules: plain Python, no gRPC or driver imports.

A tweet may carry a poll of 2 to 4 options, each 1 to 25 characters (Twitter's
limits; Unicode code points after NFC, as tweet content is counted), open for
5 minutes to 7 days. The shortest duration is a setting (`min_duration`): the
local stack lowers it so that tests can watch a poll end without waiting five
minutes (docs/POLLS.md); production keeps Twitter's 5 minutes.

Results (the counts) are shown to the poll's author, to a user who has voted
and to everyone once the poll has ended; until then anyone else sees the
options only, as on Twitter.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.shared.errors import Validator
from services.shared.fields import text

MIN_OPTIONS = 2
MAX_OPTIONS = 4
MAX_OPTION_LENGTH = 25
MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(days=7)


@dataclass(frozen=True)
class PollDefinition:
    """What is stored with the tweet: the labels in order and the end."""

    options: tuple[str, ...]
    ends_at: datetime

    def ended(self, now: datetime) -> bool:
        return now >= self.ends_at

    def has_position(self, position: int) -> bool:
        return 1 <= position <= len(self.options)


@dataclass(frozen=True)
class PollInput:
    """A poll as a client asks for it, before validation."""

    options: list[str]
    duration: timedelta | None


@dataclass(frozen=True)
class Results:
    """The counts of one poll and one viewer's vote (0: none)."""

    counts: tuple[int, ...]
    viewer_vote: int

    @property
    def total(self) -> int:
        return sum(self.counts)


def results_visible(poll: PollDefinition, *, author: int, viewer: int, viewer_vote: int,
                    now: datetime) -> bool:
    return viewer == author or viewer_vote > 0 or poll.ended(now)


def validate_poll(options: list[str], duration: timedelta | None, *, created_at: datetime,
                  min_duration: timedelta = MIN_DURATION) -> PollDefinition:
    """The poll to store, or INVALID_ARGUMENT naming every bad field."""
    v = Validator()
    labels = [unicodedata.normalize("NFC", o).strip() for o in options]
    v.check(MIN_OPTIONS <= len(labels) <= MAX_OPTIONS, "poll.options",
            f"must have {MIN_OPTIONS} to {MAX_OPTIONS} options")
    for i, label in enumerate(labels):
        name = f"poll.options[{i}]"
        v.check(not text.looks_empty(label), name, text.LOOKS_EMPTY)
        v.check(len(label) <= MAX_OPTION_LENGTH, name,
                f"must be at most {MAX_OPTION_LENGTH} characters")
        v.check(not any(unicodedata.category(c) == "Cc" for c in label), name,
                "must not contain control characters")
        v.check(not text.has_bidi_controls(label), name, text.HAS_BIDI_CONTROLS)
    folded = [label.casefold() for label in labels]
    v.check(len(set(folded)) == len(folded), "poll.options", "must not repeat an option")
    if duration is None:
        v.check(False, "poll.duration", "is required")
    else:
        v.check(duration.microseconds == 0, "poll.duration", "must be whole seconds")
        v.check(min_duration <= duration <= MAX_DURATION, "poll.duration",
                f"must be {_span(min_duration)} to {_span(MAX_DURATION)}")
    v.raise_if_any()
    assert duration is not None
    return PollDefinition(tuple(labels), created_at + duration)


def _span(d: timedelta) -> str:
    seconds = int(d.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} seconds"
