"""The arithmetic behind BENCH=saturation's "the goal asks" line."""

from __future__ import annotations

import pytest

from benchmarks.saturation import Goal, budget
from benchmarks.wrk import Result


def result(rps: float, p99_ms: float) -> Result:
    return Result("run", requests=int(rps * 10), seconds=10.0, errors=0, p50_ms=1.0,
                  p99_ms=p99_ms)


def test_a_p99_goal_at_fixed_connections_is_a_throughput_goal() -> None:
    # 16 connections at 500 req/s: a mean of 32 ms, so a p99 of 64 ms is twice
    # the mean; p99 <= 25 ms then needs a mean of 12.5 ms: 1,280 req/s.
    need = budget(result(500, 64), Goal(p99_ms=25, rps=1_000), cores=2)
    assert need.needed_rps == pytest.approx(1_280)
    assert need.ms_per_request == pytest.approx(2_000 / 1_280)


def test_the_goals_own_rate_is_the_floor() -> None:
    need = budget(result(2_000, 8), Goal(p99_ms=25, rps=1_000), cores=2)
    assert need.needed_rps == 1_000
    assert need.ms_per_request == pytest.approx(2.0)
