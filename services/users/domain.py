"""Account and profile rules: plain Python, no gRPC or database imports."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from services.shared.errors import InvalidArgument, Validator
from services.shared.fields import text

USERNAME_RE = re.compile(r"[A-Za-z0-9_]{1,15}")
MAX_EMAIL = 254
MIN_PASSWORD = 8
# argon2 copes with long input, but an unbounded one is a cheap way to burn CPU.
MAX_PASSWORD = 1024
# The account tier access tokens carry (claim `tier`); the edge's rate limits
# key on it (edge/ratelimits.yaml).
TIER_REGULAR, TIER_VERIFIED = "regular", "verified"
LIMITS = {"display_name": 50, "bio": 160, "location": 30, "website": 100,
          "profile_picture_url": 500}


@dataclass(frozen=True)
class UserRecord:
    user_id: int
    username: str
    display_name: str
    bio: str
    location: str
    website: str
    profile_picture_url: str
    follower_count: int
    following_count: int
    created_at: datetime
    verified: bool = False
    pinned_tweet_id: int = 0  # 0: none


@dataclass(frozen=True)
class FollowRecord:
    user: UserRecord
    followed_at: datetime


@dataclass(frozen=True)
class SignUp:
    username: str
    email: str
    password: str
    display_name: str


def text_length(value: str) -> int:
    """Length as people see it: code points after NFC normalisation."""
    return len(unicodedata.normalize("NFC", value))


def has_control_chars(value: str, *, allow_newlines: bool = False) -> bool:
    allowed = {"\n"} if allow_newlines else set()
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in value)


def validate_sign_up(username: str, email: str, password: str, display_name: str) -> SignUp:
    v = Validator()
    v.check(USERNAME_RE.fullmatch(username) is not None, "username",
            "must be 1 to 15 letters, digits or underscores")
    normalized_email = ""
    try:
        normalized_email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError:
        v.check(False, "email", "must be a valid email address")
    v.check(len(normalized_email) <= MAX_EMAIL, "email",
            f"must be at most {MAX_EMAIL} characters")
    v.check(len(password) >= MIN_PASSWORD, "password",
            f"must be at least {MIN_PASSWORD} characters")
    v.check(len(password) <= MAX_PASSWORD, "password",
            f"must be at most {MAX_PASSWORD} characters")
    display_name = unicodedata.normalize("NFC", display_name.strip()) or username
    _check_text(v, "display_name", display_name)
    v.raise_if_any()
    return SignUp(username, normalized_email, password, display_name)


def login_name(raw: str) -> str:
    """The one form of a login name that the lookup and the login throttle
    use: a username as sign-up takes it (ASCII) or an e-mail address
    normalised as sign-up normalises it, either lower-cased. Anything else is
    INVALID_ARGUMENT, so a look-alike (U+212A KELVIN SIGN lower-cases to "k"),
    a control character or an oversized name never reaches the database."""
    name = raw.strip()
    invalid = InvalidArgument.field("username", "must be a username or an email address")
    if "@" not in name:
        if USERNAME_RE.fullmatch(name) is None:
            raise invalid
        return name.lower()
    if len(name) > MAX_EMAIL or has_control_chars(name):
        raise invalid
    try:
        return validate_email(name, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise invalid from None


def validate_profile_update(changes: dict[str, str]) -> dict[str, str]:
    """Checks the fields a client set; returns them normalised (NFC, trimmed)."""
    v = Validator()
    cleaned: dict[str, str] = {}
    for field, raw in changes.items():
        value = unicodedata.normalize("NFC", raw.strip())
        _check_text(v, field, value, allow_newlines=field == "bio")
        if field in ("website", "profile_picture_url") and value:
            v.check(is_http_url(value), field, "must be an http(s) URL")
        cleaned[field] = value
    v.raise_if_any()
    return cleaned


def _check_text(v: Validator, field: str, value: str, *, allow_newlines: bool = False) -> None:
    limit = LIMITS[field]
    v.check(text_length(value) <= limit, field, f"must be at most {limit} characters")
    v.check(not has_control_chars(value, allow_newlines=allow_newlines), field,
            "must not contain control characters")
    for problem in text.problems(value, required=False):
        v.check(False, field, problem)


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def tier(verified: bool) -> str:
    return TIER_VERIFIED if verified else TIER_REGULAR
