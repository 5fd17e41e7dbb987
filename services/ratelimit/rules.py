"""The limits: a tree of descriptor entries read from edge/ratelimits.yaml.

Plain Python (no gRPC, no Redis). The format and the matching follow
envoyproxy/ratelimit: at each level an entry matches a child with the same key
and value first, then a child with the same key and no value; a descriptor is
limited when its last entry lands on a node that has a rate_limit. Entries
without a configured limit are simply not limited.

Two additions, chosen per environment (RATELIMIT_ENVIRONMENT):
- `exempt`: entries that exempt a whole request (an allowlist, e.g. the local
  machine's own address, so tests and benchmarks run unthrottled);
- `overrides`: limits replaced by their path in the tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Every environment edge/ratelimits.yaml must define.
DEFAULT_ENVIRONMENTS = ("local", "production")
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

Entry = tuple[str, str]


class ConfigError(ValueError):
    """The rate-limit file is malformed."""


@dataclass(frozen=True)
class Limit:
    requests_per_unit: int
    unit: str  # a key of UNIT_SECONDS
    name: str  # the node's path, e.g. "op=CreateTweet/user_id"

    @property
    def window_seconds(self) -> int:
        return UNIT_SECONDS[self.unit]

    def describe(self) -> str:
        return f"{self.requests_per_unit} per {self.unit} ({self.name})"


@dataclass
class _Node:
    limit: Limit | None = None
    children: dict[Entry, _Node] = field(default_factory=dict)  # value "" = any value


@dataclass(frozen=True)
class Match:
    """A limited descriptor: its limit and the bucket its hits count in."""

    limit: Limit
    bucket: str  # a short, stable Redis key


@dataclass
class Rules:
    domain: str
    root: _Node
    exempt: frozenset[Entry] = frozenset()

    def is_exempt(self, descriptors: Sequence[Sequence[Entry]]) -> bool:
        return any(entry in self.exempt for d in descriptors for entry in d)

    def match(self, entries: Sequence[Entry]) -> Match | None:
        node = self.root
        for key, value in entries:
            child = node.children.get((key, value)) or node.children.get((key, ""))
            if child is None:
                return None
            node = child
        if node.limit is None or not entries:
            return None
        return Match(node.limit, bucket_key(self.domain, entries, node.limit))


def bucket_key(domain: str, entries: Sequence[Entry], limit: Limit) -> str:
    """Bounded length whatever the values (account names come from clients)."""
    raw = "\x1f".join(f"{k}\x1e{v}" for k, v in entries) + f"\x1f{limit.window_seconds}"
    digest = hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()
    return f"rl:{domain}:{entries[0][0]}:{{{digest}}}"


def _limit(raw: Any, name: str) -> Limit:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{name}: rate_limit must be a mapping")
    unit = str(raw.get("unit", "")).lower()
    count = raw.get("requests_per_unit")
    if unit not in UNIT_SECONDS:
        raise ConfigError(f"{name}: unit must be one of {sorted(UNIT_SECONDS)}")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ConfigError(f"{name}: requests_per_unit must be a non-negative integer")
    return Limit(count, unit, name)


def _path(prefix: str, key: str, value: str) -> str:
    part = f"{key}={value}" if value else key
    return f"{prefix}/{part}" if prefix else part


def _build(items: Any, prefix: str, overrides: dict[str, Any]) -> _Node:
    node = _Node()
    if items is None:
        return node
    if not isinstance(items, list):
        raise ConfigError(f"{prefix or 'descriptors'}: descriptors must be a list")
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise ConfigError(f"{prefix or 'descriptors'}: every descriptor needs a key")
        key, value = item["key"], str(item.get("value", "") or "")
        path = _path(prefix, key, value)
        if (key, value) in node.children:
            raise ConfigError(f"{path}: defined twice")
        child = _build(item.get("descriptors"), path, overrides)
        raw_limit = overrides.pop(path, item.get("rate_limit"))
        child.limit = _limit(raw_limit, path) if raw_limit is not None else None
        node.children[(key, value)] = child
    return node


def parse(document: Mapping[str, Any], environment: str) -> Rules:
    domain = document.get("domain")
    if not isinstance(domain, str) or not domain:
        raise ConfigError("domain is required")
    environments = document.get("environments") or {}
    if environment not in environments:
        raise ConfigError(f"unknown environment {environment!r}; "
                          f"the file defines {sorted(environments)}")
    env = environments[environment] or {}
    overrides = dict(env.get("overrides") or {})
    root = _build(document.get("descriptors"), "", overrides)
    if overrides:
        raise ConfigError(f"overrides for paths that do not exist: {sorted(overrides)}")
    exempt = frozenset((str(e["key"]), str(e.get("value", ""))) for e in env.get("exempt") or ())
    return Rules(domain, root, exempt)


def load(path: Path, environment: str) -> Rules:
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, Mapping):
        raise ConfigError(f"{path}: not a YAML mapping")
    return parse(document, environment)
