"""`make bench BENCH=mixed_probe`: the mixed workload's requests at one fixed
open-loop rate, where the CPU a request costs each program can be read off
(`/proc`, as the mixed benchmark's steps record it): the instrument for a
change to one path's cost, paired before and after in one sitting.

BENCH_RATE (requests a second, default 150), BENCH_STEP_SECONDS (default 30)
after 10 s of warm-up, BENCH_KINDS (e.g. "home,user_tweets"; default the
whole mix, in its proportions); the dataset and readers as for `mixed`."""

from __future__ import annotations

import os

from benchmarks.mixed import vegeta
from benchmarks.mixed.cpu import CpuSampler
from benchmarks.mixed.run import prepare, setting
from benchmarks.mixed.steps import Step

WARM_UP_SECONDS = 10
SHOWN_FROM_PERCENT = 0.3  # programs busier than this get a line of their own


def run(env: dict[str, str]) -> list[str]:
    rate = setting("BENCH_RATE", 150)
    seconds = setting("BENCH_STEP_SECONDS", 30)
    kinds = {k for k in os.environ.get("BENCH_KINDS", "").split(",") if k}
    setup = prepare(env)
    targets = [t for t in setup.targets if not kinds or t.kind in kinds]
    if not targets:
        raise SystemExit(f"BENCH_KINDS={','.join(sorted(kinds))}: no such kind of request")
    sampler = CpuSampler()
    vegeta.attack(setup.tool, targets, rate, WARM_UP_SECONDS, sampler)
    step = Step.of(rate, seconds, vegeta.attack(setup.tool, targets, rate, seconds, sampler))
    return [*setup.lines, step.line(), *per_kind(step), *cpu_per_request(step)]


def per_kind(step: Step) -> list[str]:
    return [f"  {kind:<12} n={lat.count:<6} p50 {lat.p50:>7.1f}  p90 {lat.p90:>7.1f}"
            f"  p99 {lat.p99:>7.1f} ms  errors {lat.errors}"
            for kind, lat in step.kinds.items()]


def cpu_per_request(step: Step) -> list[str]:
    """Each program's CPU over the step, as % of a core and ms per request."""
    lines = ["CPU per request (ms; % of one core):"]
    busiest = sorted(step.cpu.items(), key=lambda kv: -kv[1])
    for name, percent in busiest:
        if percent >= SHOWN_FROM_PERCENT:
            lines.append(f"  {name:<22} {percent * 10 / step.rate:>6.2f}  ({percent:.1f}%)")
    total = sum(step.cpu.values()) * 10 / step.rate
    lines.append(f"  {'all (machine)':<22} {total:>6.2f}")
    return lines
