"""Hashtags, @mentions and URLs in tweet text: plain Python, no I/O.

A small extractor of our own, following twitter-text's rules where they matter:
no maintained Python library covers all three (twitter-text-parser ports only
URL extraction and weighted length, its last release is from 2023;
twitter-text-py stopped in 2014). The rules:

- URLs: an explicit http:// or https:// scheme at the start or after a
  non-word character, up to whitespace; trailing punctuation and unbalanced
  closing brackets are not part of it; the host must have a dot or be
  localhost. Hashtags and mentions inside a URL do not count.
- Hashtags: '#' (or the fullwidth U+FF03) not preceded by a letter, digit, '_' or '&'
  (so HTML entities and "a#b" are not hashtags), then letters, combining
  marks, digits and '_' (any script), with at least one non-digit. Stored
  lowercased, without duplicates, in order of first appearance.
- Mentions: '@' (or the fullwidth U+FF20) not preceded by an ASCII letter, digit, '_' or one of
  !#$%&*@ (so emails are not mentions), then 1 to 15 of [A-Za-z0-9_] not
  followed by another name character or '@' (too long, or an email-like
  "@a@b"). Without duplicates (case-insensitive), in order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_USERNAME = 15
_URL_START = re.compile(r"https?://", re.IGNORECASE)
_URL_STOP = set(" \t\n<>\"")
_TRAILING_PUNCT = ".,;:!?'\"…"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_HASH = "#\uff03"
_AT = "@\uff20"
_MENTION_BLOCKERS = set("!#$%&*_" + _AT)
_NAME_CHARS = re.compile(r"[A-Za-z0-9_]")
_JOINERS = {"\u200c", "\u200d"}  # ZWNJ/ZWJ occur inside words of Persian and Indic scripts


@dataclass(frozen=True)
class Entities:
    hashtags: list[str]
    mention_names: list[str]  # as typed, before resolution against the users service
    urls: list[str]


def extract(text: str) -> Entities:
    urls, spans = _urls(text)
    masked = _mask(text, spans)
    return Entities(_hashtags(masked), _mentions(masked), urls)


def _urls(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    urls: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _URL_START.finditer(text):
        start = match.start()
        if start > 0 and (_is_word(text[start - 1]) or text[start - 1] in "@$#/"):
            continue
        end = match.end()
        while end < len(text) and text[end] not in _URL_STOP and not text[end].isspace():
            end += 1
        candidate = _trim(text[start:end])
        if _valid_url(candidate):
            urls.append(candidate)
            spans.append((start, start + len(candidate)))
    return urls, spans


def _trim(url: str) -> str:
    while url:
        last = url[-1]
        if last in _TRAILING_PUNCT:
            url = url[:-1]
        elif last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
            url = url[:-1]  # "(see https://x.org)" keeps the ')' outside
        else:
            break
    return url


def _valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return False
    if not host or ".." in host or host.startswith(".") or host.endswith("-"):
        return False
    return "." in host.strip(".") or host == "localhost"


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _is_word(c: str) -> bool:
    return c == "_" or unicodedata.category(c)[0] in "LMN"


def _hashtags(text: str) -> list[str]:
    found: list[str] = []
    i = 0
    while i < len(text):
        if text[i] in _HASH and (i == 0 or not (_is_word(text[i - 1]) or text[i - 1] == "&")):
            end = i + 1
            while end < len(text) and (_is_word(text[end]) or text[end] in _JOINERS):
                end += 1
            tag = text[i + 1:end].strip("\u200c\u200d")
            if tag and not tag.isdigit() and not text.startswith("://", end):
                normalized = unicodedata.normalize("NFC", tag).lower()
                if normalized not in found:
                    found.append(normalized)
            i = max(end, i + 1)
        else:
            i += 1
    return found


def _mentions(text: str) -> list[str]:
    found: list[str] = []
    seen: set[str] = set()
    for i, c in enumerate(text):
        if c not in _AT:
            continue
        if i > 0 and (_NAME_CHARS.fullmatch(text[i - 1]) or text[i - 1] in _MENTION_BLOCKERS):
            continue
        end = i + 1
        while end < len(text) and _NAME_CHARS.fullmatch(text[end]):
            end += 1
        name = text[i + 1:end]
        followed_by = text[end] if end < len(text) else ""
        if not name or len(name) > MAX_USERNAME or (followed_by and followed_by in _AT):
            continue
        if text.startswith("://", end):
            continue
        if name.lower() not in seen:
            seen.add(name.lower())
            found.append(name)
    return found
