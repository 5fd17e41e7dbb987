"""Latency figures of one load step, overall and per kind of request."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.mixed.vegeta import Attack, Hit

P99_LIMIT_MS = 100.0  # stop stepping up past this
P99_GOAL_MS = 50.0  # the saturation point: the highest rate that meets this, error-free
ERROR_LIMIT = 0.01


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p / 100))]


@dataclass(frozen=True)
class Latency:
    count: int
    errors: int
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, hits: list[Hit]) -> Latency:
        ms = sorted(h.latency_ms for h in hits)
        errors = sum(1 for h in hits if h.error or not 200 <= h.code < 300)
        return cls(len(hits), errors, percentile(ms, 50), percentile(ms, 90), percentile(ms, 99))


@dataclass(frozen=True)
class Step:
    rate: float
    seconds: float
    total: Latency
    kinds: dict[str, Latency]
    cpu: dict[str, float]
    errors_seen: list[str]

    @classmethod
    def of(cls, rate: float, seconds: float, attack: Attack) -> Step:
        kinds = sorted({h.kind for h in attack.hits})
        seen = sorted({h.error or f"HTTP {h.code}" for h in attack.hits
                       if h.error or not 200 <= h.code < 300})
        return cls(rate, seconds, Latency.of(attack.hits),
                   {k: Latency.of([h for h in attack.hits if h.kind == k]) for k in kinds},
                   attack.cpu, seen[:5])

    @property
    def error_rate(self) -> float:
        return self.total.errors / max(1, self.total.count)

    @property
    def meets_goal(self) -> bool:
        return self.total.p99 <= P99_GOAL_MS and self.total.errors == 0

    @property
    def overloaded(self) -> bool:
        return self.total.p99 > P99_LIMIT_MS or self.error_rate > ERROR_LIMIT

    def line(self, label: str = "") -> str:
        t = self.total
        busiest = sorted(self.cpu.items(), key=lambda kv: -kv[1])[:3]
        cpu = ", ".join(f"{name} {pct:.0f}%" for name, pct in busiest)
        return (f"{label or 'offered':<10} {self.rate:>7.1f} req/s  achieved"
                f" {t.count / self.seconds:>7.1f}  p50 {t.p50:>7.1f}  p90 {t.p90:>7.1f}"
                f"  p99 {t.p99:>7.1f} ms  errors {t.errors:>4}  cpu: {cpu}")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def saturation_point(steps: list[Step]) -> float | None:
    """The saturation point: the highest rate of a step that meets the goal."""
    passing = [s.rate for s in steps if s.meets_goal]
    return max(passing) if passing else None


def sustained_rate(steps: list[Step]) -> float | None:
    """The highest rate below the first step that misses the goal: what the
    stack held at every rate up to it. Later steps replay requests the earlier
    ones warmed the caches with, so a step can pass above one that failed."""
    held = None
    for step in steps:
        if not step.meets_goal:
            break
        held = step.rate
    return held
