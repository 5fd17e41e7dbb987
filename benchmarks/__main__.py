"""`make bench`: every benchmark against the running stack, one table of figures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks import (
    cost_bench,
    edge_bench,
    edge_cpu_bench,
    media_bench,
    messages_bench,
    mixed,
    notifications_bench,
    saturation,
    search_bench,
    sessions_bench,
    soak,
    timeline_bench,
    tweets_bench,
    users_bench,
)
from benchmarks.mixed import probe
from stack import contract, topology

SUITES = {
    "users": users_bench.run,
    "tweets": tweets_bench.run,
    "timeline": timeline_bench.run,
    "search": search_bench.run,
    "edge": edge_bench.run,
    "edge_cpu": edge_cpu_bench.run,
    "media": media_bench.run,
    "messages": messages_bench.run,
    "notifications": notifications_bench.run,
    "mixed": mixed.run,
    "soak": soak.run,
    "sessions": sessions_bench.run,
    "redis_modes": timeline_bench.run_redis_modes,
    "cost": cost_bench.run,
    "timeline_reads": timeline_bench.run_reads,
    "mixed_probe": probe.run,
    "saturation": saturation.run,
}
# Run only when asked for by name (BENCH=soak takes half an hour; redis_modes
# and timeline_reads are parts of timeline; edge_cpu, a few minutes, of edge;
# mixed_probe is one fixed rate of mixed, for before/after pairs; saturation
# reruns the closed loops of timeline and tweets with their CPU split).
LONG = {"soak", "redis_modes", "timeline_reads", "edge_cpu", "mixed_probe", "saturation"}


def running_with(stack_env: Path) -> str:
    """What the figures depend on beyond the code: the running stack's trace
    sampling and event loop (from the environment `make up` wrote), so a table
    says whether it was taken at the local default (every request traced) or
    at production's 1% (k8s/base/config.env, edge.env)."""
    values = dict(line.split("=", 1) for line in stack_env.read_text().splitlines()
                  if "=" in line) if stack_env.exists() else {}
    edge = values.get("EDGE_TRACE_SAMPLING_PERCENT", "100")
    sampler = values.get("OTEL_TRACES_SAMPLER", "parentbased_always_on")
    ratio = values.get("OTEL_TRACES_SAMPLER_ARG", "")
    loop = values.get("EVENT_LOOP", "uvloop")
    return (f"stack: edge traces {edge}% of requests, services {sampler}"
            f"{' ' + ratio if ratio else ''}, event loop {loop}")


def main(argv: list[str]) -> int:
    settings = topology.load()
    print(running_with(settings.stack_dir / "stack.env"), flush=True)
    env = contract.build(settings)
    # What the services read (the internal token among it), for the clients
    # the benchmarks build from the same settings classes.
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    chosen = argv[1:] or [s for s in SUITES if s not in LONG]
    for name in chosen:
        print(f"== {name}", flush=True)
        for line in SUITES[name](env):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
