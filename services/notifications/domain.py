"""Notification rules: kinds, grouping, ids and retention. Plain Python, no
gRPC or driver imports.

A notification is one actor's part in a group. A group is every actor of one
kind on one target (a tweet, or for follows the recipient) whose part happened
within one grouping window: "alice and 12 others liked your tweet". Windows
are fixed slices of time (`bucket`), so every worker puts an actor in the same
group without asking anyone: no read before the write, no race creating two
groups. A burst that straddles a window's end makes two groups.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from services.shared.snowflake.ids import EPOCH_MS, id_time

# Retention: what a user is shown is bounded twice over. Every row expires
# RETENTION_SECONDS after its last write (CQL TTL), and a user's list is
# trimmed to its newest MAX_GROUPS groups.
RETENTION_SECONDS = 30 * 24 * 3600
MAX_GROUPS = 1_000
# Unread groups are counted up to this many (clients show "999+").
UNREAD_CAP = 1_000
# How many of a group's newest actors it names.
RECENT_ACTORS = 3
# How many of a group's newest actors it keeps, so that when some are hidden
# from the recipient (blocked, muted) others can still be named.
RECENT_KEPT = 20
_TIME_SHIFT = 22  # the layout of services/shared/snowflake/ids.py: ms << 22
_LOW_BITS = (1 << _TIME_SHIFT) - 1


class Kind(IntEnum):
    """The same numbers as twitter.notifications.v1.NotificationKind."""

    FOLLOW = 1
    MENTION = 2
    REPLY = 3
    LIKE = 4
    RETWEET = 5
    QUOTE = 6
    LIST_ADDED = 7
    POLL_ENDED = 8


@dataclass(frozen=True)
class Target:
    """One recipient's notifications of one kind about one thing: the unit
    that is regrouped after every change (one CQL partition of actors)."""

    recipient_id: int
    kind: Kind
    target_id: int


@dataclass(frozen=True)
class Group:
    target: Target
    bucket: int
    actor_count: int
    recent_actor_ids: tuple[int, ...]  # newest first
    latest_id: int  # the newest part's notification id

    @property
    def key(self) -> str:
        return group_key(self.target.kind, self.target.target_id, self.bucket)

    @property
    def updated_at(self) -> datetime:
        return id_time(self.latest_id)


def group_key(kind: Kind, target_id: int, bucket: int) -> str:
    return f"{kind.name.lower()}:{target_id}:{bucket}"


def notification_id(occurred_ms: int, event_id: str) -> int:
    """The id of the notification an event makes: time-ordered like every id
    (services/shared/snowflake/ids.py's layout), and the same however often the event is
    delivered, so redelivery rewrites one row instead of adding one. The low
    bits come from the event id; two events would have to share a millisecond
    and 22 hash bits to collide."""
    digest = hashlib.blake2b(event_id.encode(), digest_size=8).digest()
    low = int.from_bytes(digest, "big") & _LOW_BITS
    return ((max(occurred_ms, EPOCH_MS) - EPOCH_MS) << _TIME_SHIFT) | low


def now_id(now_ms: int) -> int:
    """The largest id of the current millisecond: read positions stop here."""
    return ((now_ms - EPOCH_MS) << _TIME_SHIFT) | _LOW_BITS


def bucket_of(notification_id: int, window_seconds: int) -> int:
    """The grouping window an id falls in."""
    return (notification_id >> _TIME_SHIFT) // (window_seconds * 1000)


@dataclass(frozen=True)
class PartState:
    """An actor's part as stored: withdrawn parts are kept (inactive) with the
    time of the event that last changed them, so older events lose to it."""

    notification_id: int
    active: bool
    changed_us: int


@dataclass(frozen=True)
class Change:
    """An event's effect on one actor's part: active or withdrawn, at its time."""

    actor_id: int
    notification_id: int
    active: bool
    at_us: int


def takes_effect(change: Change, old: PartState | None) -> bool:
    """Whether the change is written: only an event newer than the part's
    last change is (a redelivery or an older event is not). Withdrawing a part
    not yet made is written too (inactive), so its like, delivered late,
    loses to it."""
    return old is None or change.at_us > old.changed_us


def with_actor(group: Group, actor_id: int, notification_id: int) -> Group:
    """The group with one more actor (named among the newest if new enough)."""
    others = tuple(a for a in group.recent_actor_ids if a != actor_id)
    if group.actor_count == 0 or notification_id >= group.latest_id:
        recent = (actor_id, *others)
    else:
        recent = (*others, actor_id)
    return Group(group.target, group.bucket, group.actor_count + 1, recent[:RECENT_KEPT],
                 max(group.latest_id, notification_id))


def without_actor(group: Group, actor_id: int) -> Group:
    """The group with one actor fewer. Its newest id stays (a withdrawn like
    does not move the group back in the list: that would need every part)."""
    return Group(group.target, group.bucket, max(0, group.actor_count - 1),
                 tuple(a for a in group.recent_actor_ids if a != actor_id), group.latest_id)


def newest_by_actor(changes: Iterable[Change]) -> dict[int, Change]:
    """Of each actor's changes, the newest: the one that decides its part."""
    newest: dict[int, Change] = {}
    for change in changes:
        if change.actor_id not in newest or change.at_us > newest[change.actor_id].at_us:
            newest[change.actor_id] = change
    return newest


Move = tuple[Change, "PartState | None"]  # a change and the part it replaces


def buckets_touched(moves: Iterable[Move], window_seconds: int) -> set[int]:
    """The windows whose groups the changes alter: each old active part's and
    each new active part's."""
    found = set()
    for change, old in moves:
        if old is not None and old.active:
            found.add(bucket_of(old.notification_id, window_seconds))
        if change.active:
            found.add(bucket_of(change.notification_id, window_seconds))
    return found


def regrouped(groups: dict[int, Group], moves: list[Move],
              window_seconds: int) -> dict[int, Group]:
    """The groups after the changes (each actor once): old parts out, new
    parts in, oldest first so the newest are named first."""
    out = dict(groups)
    for change, old in moves:
        if old is not None and old.active:
            b = bucket_of(old.notification_id, window_seconds)
            out[b] = without_actor(out[b], change.actor_id)
    for change, _ in sorted(moves, key=lambda m: m[0].notification_id):
        if change.active:
            b = bucket_of(change.notification_id, window_seconds)
            out[b] = with_actor(out[b], change.actor_id, change.notification_id)
    return out


def recipients_of_tweet(author_id: int, mentioned: Iterable[int],
                        parent_author_id: int | None,
                        quoted_author_id: int | None = None) -> dict[int, Kind]:
    """Who a new tweet notifies, and how: the replied-to author by a reply
    (which says more than the @mention a reply usually carries), the quoted
    author by a quote (unless the tweet also replies to them), each mentioned
    user by a mention; never the author."""
    found = {user: Kind.MENTION for user in mentioned if user != author_id}
    if quoted_author_id and quoted_author_id != author_id:
        found[quoted_author_id] = Kind.QUOTE
    if parent_author_id and parent_author_id != author_id:
        found[parent_author_id] = Kind.REPLY
    return found


def unread_count(latest_ids: Iterable[tuple[int, str]], last_read_id: int) -> int:
    """Groups whose newest part is past the read position, counted once each
    (a list row left behind by racing writers names its group again)."""
    keys = {key for latest, key in latest_ids if latest > last_read_id}
    return min(len(keys), UNREAD_CAP)
