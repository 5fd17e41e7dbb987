"""The mixed benchmark's two readings of its steps (benchmarks/mixed/steps.py):
the saturation point takes the highest passing step, the sustained rate stops
at the first step that misses the goal."""

from __future__ import annotations

from benchmarks.mixed.steps import Latency, Step, saturation_point, sustained_rate


def step(rate: float, p99: float, errors: int = 0) -> Step:
    return Step(rate, 20, Latency(1000, errors, 5.0, 10.0, p99), {}, {}, [])


def test_a_pass_above_a_miss_counts_for_saturation_but_not_for_sustained() -> None:
    steps = [step(152.0, 20.0), step(174.8, 52.7), step(201.0, 48.1), step(231.1, 120.0)]
    assert saturation_point(steps) == 201.0
    assert sustained_rate(steps) == 152.0


def test_errors_miss_the_goal_whatever_the_latency() -> None:
    steps = [step(100.0, 10.0), step(120.0, 10.0, errors=1), step(140.0, 10.0)]
    assert saturation_point(steps) == 140.0
    assert sustained_rate(steps) == 100.0


def test_a_first_step_that_misses_holds_no_rate() -> None:
    steps = [step(300.0, 60.0), step(345.0, 40.0)]
    assert saturation_point(steps) == 345.0
    assert sustained_rate(steps) is None
    assert saturation_point([step(300.0, 60.0)]) is None
