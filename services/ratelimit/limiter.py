"""Service logic: which descriptors are limited, and the verdict for a request.

Plain Python: the rules come from rules.py and the counting from window.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.ratelimit.rules import Entry, Limit, Rules
from services.ratelimit.window import Bucket, SlidingWindow


@dataclass(frozen=True)
class DescriptorVerdict:
    limit: Limit | None  # None: not limited
    over: bool = False
    remaining: int = 0
    reset_seconds: int = 0


@dataclass(frozen=True)
class Verdict:
    over_limit: bool
    descriptors: list[DescriptorVerdict]

    def message(self) -> str:
        over = [d.limit.describe() for d in self.descriptors if d.over and d.limit]
        return "rate limit exceeded: " + ", ".join(over) if over else ""

    @property
    def retry_after_seconds(self) -> int:
        return max((d.reset_seconds for d in self.descriptors if d.over), default=0)


class Limiter:
    def __init__(self, rules: Rules, window: SlidingWindow) -> None:
        self._rules = rules
        self._window = window

    async def check(self, domain: str, descriptors: Sequence[Sequence[Entry]],
                    hits: int = 1) -> Verdict:
        unlimited = Verdict(False, [DescriptorVerdict(None) for _ in descriptors])
        if domain != self._rules.domain or self._rules.is_exempt(descriptors):
            return unlimited
        matches = [self._rules.match(d) for d in descriptors]
        limited = [(i, m) for i, m in enumerate(matches) if m is not None]
        # Two descriptors may share a bucket only if they are identical; count it once.
        buckets: dict[str, Bucket] = {}
        for _, m in limited:
            buckets[m.bucket] = Bucket(m.bucket, m.limit.window_seconds,
                                       m.limit.requests_per_unit)
        decision = await self._window.hit(list(buckets.values()), max(hits, 1))
        outcome = dict(zip(buckets, decision.outcomes, strict=True))
        result = list(unlimited.descriptors)
        for i, m in limited:
            o = outcome[m.bucket]
            result[i] = DescriptorVerdict(m.limit, o.over, o.remaining, o.reset_seconds)
        return Verdict(not decision.allowed, result)
