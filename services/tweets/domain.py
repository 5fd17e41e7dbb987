"""Tweet rules: plain Python, no gRPC or driver imports."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum

from services.shared.errors import FailedPrecondition, PermissionDenied, Validator
from services.shared.fields import text
from services.shared.snowflake.ids import id_time
from services.tweets.polls.rules import PollDefinition

# Characters as people see them: Unicode code points after NFC normalisation (not
# twitter-text's weighted count, which counts CJK and emoji double).
MAX_CONTENT = 280
MAX_MEDIA = 4
EDIT_WINDOW = timedelta(minutes=30)
# twitter-text's invalid characters besides control characters.
_INVALID = {"\ufffe", "\ufeff", "\uffff"}


class Kind(IntEnum):
    """The same numbers as twitter.tweets.v1.TweetKind."""

    ORIGINAL = 1
    REPLY = 2
    RETWEET = 3


@dataclass(frozen=True)
class Mention:
    user_id: int
    username: str


@dataclass(frozen=True)
class Revision:
    revision: int
    content: str
    hashtags: list[str]
    mentions: list[Mention]
    urls: list[str]
    created_at: datetime


@dataclass(frozen=True)
class TweetRecord:
    """A tweet as stored: its static facts, counts and current revision."""

    tweet_id: int
    user_id: int
    kind: Kind
    current: Revision
    media_ids: list[int]
    created_at: datetime
    edited_at: datetime | None
    like_count: int
    retweet_count: int
    reply_count: int
    reply_to: int
    retweet_of: int
    deleted: bool
    place: str = ""  # ISO 3166-1 alpha-2, or "" (services/shared/fields/places.py)
    quoted_tweet_id: int = 0  # the tweet a quote tweet embeds
    quote_count: int = 0
    poll: PollDefinition | None = None  # polls/rules.py

    @property
    def mention_ids(self) -> list[int]:
        return [m.user_id for m in self.current.mentions]


@dataclass(frozen=True)
class Author:
    user_id: int
    username: str
    display_name: str
    profile_picture_url: str


@dataclass(frozen=True)
class LikeRecord:
    user_id: int
    like_id: int

    @property
    def liked_at(self) -> datetime:
        return id_time(self.like_id)


@dataclass(frozen=True)
class ViewerFlags:
    liked: set[int] = field(default_factory=set)
    retweeted: set[int] = field(default_factory=set)


def normalize_content(raw: str) -> str:
    """NFC, CRLF to LF, and no leading or trailing whitespace."""
    return unicodedata.normalize("NFC", raw.replace("\r\n", "\n")).strip()


def content_length(content: str) -> int:
    return len(unicodedata.normalize("NFC", content))


def validate_content(raw: str, *, has_media: bool, field_name: str = "content") -> str:
    """The content to store: 1 to 280 characters (empty only with media), no
    control characters except newline, no bidirectional overrides; text of
    whitespace and invisible characters only is empty (services/shared/fields/text.py)."""
    content = normalize_content(raw)
    if text.looks_empty(content):
        content = ""
    v = Validator()
    if not content:
        v.check(has_media, field_name, text.LOOKS_EMPTY)
    v.check(not text.has_bidi_controls(content), field_name, text.HAS_BIDI_CONTROLS)
    v.check(content_length(content) <= MAX_CONTENT, field_name,
            f"must be at most {MAX_CONTENT} characters")
    v.check(not any((unicodedata.category(c) == "Cc" and c != "\n") or c in _INVALID
                    for c in content),
            field_name, "must not contain control characters")
    v.raise_if_any()
    return content


def validate_media_ids(media_ids: list[int], now: datetime) -> list[int]:
    v = Validator()
    v.check(len(media_ids) <= MAX_MEDIA, "media_ids", f"at most {MAX_MEDIA} media items")
    v.check(len(set(media_ids)) == len(media_ids), "media_ids", "must not repeat an id")
    # Media ids are random positive 63-bit numbers (no time in them).
    v.check(all(m > 0 for m in media_ids), "media_ids", "must be media ids")
    v.raise_if_any()
    # Ownership and readiness are the media service's to say (Tweets.create).
    return list(media_ids)


def check_author(tweet: TweetRecord, caller: int, action: str) -> None:
    if tweet.user_id != caller:
        raise PermissionDenied(f"only the author may {action} a tweet")


def check_editable(tweet: TweetRecord, caller: int, now: datetime,
                   window: timedelta = EDIT_WINDOW) -> None:
    check_author(tweet, caller, "edit")
    if tweet.kind is Kind.RETWEET:
        raise FailedPrecondition("a retweet has no content of its own to edit")
    if now - tweet.created_at > window:
        minutes = int(window.total_seconds() // 60)
        raise FailedPrecondition(f"a tweet can be edited only within {minutes} minutes")
