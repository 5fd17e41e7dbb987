"""Timeline rules, plain Python: entries, the read-time merge of cached entries
with celebrities' tweets, and the pages' next tokens."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import NamedTuple

from services.shared.errors import PermissionDenied
from services.shared.paging.cursor import LastId, ListCursor, PageRequest
from services.shared.snowflake.ids import id_time

# Extra candidates per page, so tweets deleted since they were cached do not
# leave pages short.
SLACK = 10


class Timeline(Enum):
    HOME = "home"
    MENTIONS = "mentions"
    LIST = "list"

    @property
    def cursor(self) -> ListCursor[LastId]:
        """Its page tokens: one user's one timeline (one list's for LIST),
        paged by tweet id."""
        return _CURSORS[self]


_CURSORS = {t: ListCursor(f"timeline.{t.value}", LastId) for t in Timeline}


class Entry(NamedTuple):
    """One timeline entry; ordered by tweet id (time-ordered), then author. A
    tuple: pages parse dozens of them per read."""

    tweet_id: int
    author_id: int

    @property
    def member(self) -> str:
        return f"{self.tweet_id}:{self.author_id}"

    @property
    def score(self) -> int:
        return score_of(self.tweet_id)

    @classmethod
    def parse(cls, member: str | bytes) -> Entry:
        raw = member.encode() if isinstance(member, str) else member
        tweet_id, _, author_id = raw.partition(b":")
        return cls(int(tweet_id), int(author_id or 0))


def score_of(tweet_id: int) -> int:
    """Sorted-set score: the id's millisecond timestamp (a 64-bit id does not fit
    a double exactly; ties are broken by id after reading)."""
    return int(id_time(tweet_id).timestamp() * 1000)


def require_self(caller: int, user_id: int) -> None:
    if caller != user_id:
        raise PermissionDenied("you may only read your own timeline")


def merge(sources: Iterable[Iterable[Entry]], before: int | None, want: int) -> list[Entry]:
    """Newest first, each tweet once, strictly older than `before`, at most `want`."""
    seen: set[int] = set()
    merged: list[Entry] = []
    for entry in sorted((e for source in sources for e in source), reverse=True):
        if entry.tweet_id in seen or (before is not None and entry.tweet_id >= before):
            continue
        seen.add(entry.tweet_id)
        merged.append(entry)
        if len(merged) == want:
            break
    return merged


def next_token(req: PageRequest[LastId], shown: list[int], candidates: list[Entry],
               want: int) -> str:
    """The token after a page: past the last tweet shown when the page is full,
    past the last candidate when every one was deleted but more may follow, and
    empty at the end."""
    if len(shown) > req.limit:
        return req.token(LastId(shown[req.limit - 1]))
    if len(candidates) >= want:
        return req.token(LastId(candidates[-1].tweet_id))
    return ""
