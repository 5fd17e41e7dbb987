"""Search query language: words, "quoted phrases", #hashtag, @username
(tweets mentioning them) and from:username. Plain Python, no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from services.shared.errors import InvalidArgument

MAX_QUERY = 500
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_NAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_TAG = re.compile(r"\w{1,100}")


@dataclass
class Query:
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)  # lower case, no '#'
    mentions: list[str] = field(default_factory=list)  # usernames, no '@'
    authors: list[str] = field(default_factory=list)  # from:username

    @property
    def text(self) -> str:
        """The free-text part in web-search syntax (phrases stay quoted)."""
        return " ".join([*self.words, *(f'"{p}"' for p in self.phrases)])

    @property
    def is_empty(self) -> bool:
        return not (self.words or self.phrases or self.hashtags or self.mentions
                    or self.authors)


def check_characters(q: str) -> None:
    """NUL cannot reach PostgreSQL (issue 22), and no control character other
    than whitespace means anything in a query."""
    if any(unicodedata.category(c) == "Cc" and not c.isspace() for c in q):
        raise InvalidArgument.field("q", "must not contain control characters")


def parse(q: str) -> Query:
    q = unicodedata.normalize("NFC", q).strip()
    if not q:
        raise InvalidArgument.field("q", "must not be empty")
    if len(q) > MAX_QUERY:
        raise InvalidArgument.field("q", f"must be at most {MAX_QUERY} characters")
    check_characters(q)
    query = Query()
    for phrase, token in _TOKEN.findall(q):
        if phrase:
            if phrase.strip():
                query.phrases.append(" ".join(phrase.split()))
        else:
            _add_token(query, token)
    if query.is_empty:
        raise InvalidArgument.field("q", "has nothing to search for")
    return query


def _add_token(query: Query, token: str) -> None:
    """An unquoted token: an operator when well formed, else a plain word."""
    if token.startswith("#") and _TAG.fullmatch(token[1:]):
        query.hashtags.append(token[1:].lower())
    elif token.startswith("@") and _NAME.fullmatch(token[1:]):
        query.mentions.append(token[1:])
    elif token.lower().startswith("from:") and _NAME.fullmatch(token[5:]):
        query.authors.append(token[5:])
    elif word := token.strip('"'):
        query.words.append(word)
