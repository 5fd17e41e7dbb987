"""BENCH=saturation: issue 36's two closed-loop measures (the home timeline
and tweet creation through the edge, 16 wrk connections each), with the CPU
each tier and program spent a request over the run, and what the goal asks of
the machine.

In a closed loop every connection always has a request in flight, so the
mean latency is connections / throughput (Little's law). A p99 goal at a
fixed number of connections is therefore a throughput goal: at this run's
ratio of p99 to mean, p99 <= goal needs connections * ratio / goal requests a
second, which at most `cores` seconds of CPU a second can serve. The line
"the goal asks" compares that budget with what the run spent, and with the
part of it no service of ours spends (the stores, Envoy, the load generator
and the operating system)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import timeline_bench, tweets_bench, wrk
from benchmarks.accounts import accounts
from benchmarks.cost_bench import split_by_tier, tier_of
from benchmarks.mixed.cpu import TICKS, CpuSampler

CONNECTIONS = 16  # what the two benchmarks run (benchmarks/wrk.py)


@dataclass(frozen=True)
class Goal:
    p99_ms: float
    rps: float


HOME = Goal(p99_ms=25, rps=1_000)
CREATE = Goal(p99_ms=50, rps=300)


@dataclass(frozen=True)
class Budget:
    needed_rps: float
    ms_per_request: float


def budget(result: wrk.Result, goal: Goal, cores: int) -> Budget:
    """What the goal asks at this run's p99/mean ratio: the throughput at
    which the p99 falls to the goal, and the CPU a request that leaves."""
    mean_ms = 1000 * CONNECTIONS / result.rps
    tail = result.p99_ms / mean_ms
    needed = max(goal.rps, 1000 * CONNECTIONS * tail / goal.p99_ms)
    return Budget(needed, 1000 * cores / needed)


def measured(sampler: CpuSampler, goal: Goal, run: Callable[[], wrk.Result]) -> list[str]:
    before = sampler.snapshot()
    result = run()
    after = sampler.snapshot()
    per = 1000 / result.requests  # CPU seconds over the run -> ms a request
    spent = {p: (after.per_program[p] - t) / TICKS for p, t in before.per_program.items()}
    machine = (after.machine - before.machine) / TICKS * per
    outside = machine - sum(spent.values()) * per
    ours = sum(v for p, v in spent.items() if tier_of(p) == "services") * per
    cores = os.cpu_count() or 1
    need = budget(result, goal, cores)
    return [
        result.line(),
        f"  {split_by_tier(spent, per, 'ms a request')}",
        f"  the machine {machine:.2f} ms a request ({100 * machine * result.rps / 1000:.0f}% "
        f"of one core); outside the stack (wrk, the OS) {outside:.2f}",
        f"  the goal (>= {goal.rps:,.0f} req/s, p99 <= {goal.p99_ms:.0f} ms) asks, at this "
        f"run's p99/mean: >= {need.needed_rps:,.0f} req/s, i.e. <= {need.ms_per_request:.2f} "
        f"ms of the machine's {cores} cores a request; this run: our services "
        f"{ours:.2f}, everything else {machine - ours:.2f}",
    ]


def run(env: dict[str, str]) -> list[str]:
    edge = env["EDGE_URL"]
    _, readers = asyncio.run(timeline_bench.readers_of_authors(edge))
    authors = asyncio.run(accounts(edge, "bench_", tweets_bench.USERS))
    sampler = CpuSampler()
    return [*measured(sampler, HOME, lambda: timeline_bench.bench_home_reads(edge, readers)),
            *measured(sampler, CREATE, lambda: tweets_bench.bench_create(edge, authors))]
