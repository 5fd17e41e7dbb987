"""`make bench BENCH=soak`: the mixed workload (benchmarks/mixed) held at half
its saturation rate for a long time: error rate and p99 per window, and the
resident memory of every process at the start (after a warm-up) and the end.

It passes with no errors and no process grown by more than 10%. Settings:
SOAK_MINUTES (30), SOAK_RATE (half the saturation of the last mixed run, else
SOAK_DEFAULT_RATE), SOAK_WINDOW_SECONDS (60), SOAK_WARMUP_SECONDS (120), and the
mixed benchmark's BENCH_USERS / BENCH_TWEETS / BENCH_SEED / BENCH_READERS.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from benchmarks.dataset.load import ensure
from benchmarks.mixed import vegeta, workload
from benchmarks.mixed.cpu import CpuSampler
from benchmarks.mixed.run import RESULTS
from benchmarks.mixed.steps import Step
from stack import procs, topology
from stack.supervisor import Supervisor

DEFAULT_RATE = 50.0  # half the saturation measured on the 2-core development machine
GROWTH_LIMIT = 0.10
# Access tokens live 15 minutes; log in again well before that.
RELOGIN_SECONDS = 600


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _rate() -> float:
    if "SOAK_RATE" in os.environ:
        return float(os.environ["SOAK_RATE"])
    latest = RESULTS / "mixed-latest.json"
    if latest.is_file():
        saturation = json.loads(latest.read_text()).get("saturation_rps")
        if saturation:
            return round(float(saturation) / 2, 1)
    return _setting("SOAK_DEFAULT_RATE", DEFAULT_RATE)


def memory() -> dict[str, int]:
    """Resident KiB of every process the stack's supervisord runs."""
    running = Supervisor(topology.load()).processes()
    return {name: procs.rss_kib(procs.tree(info.pid))
            for name, info in running.items() if info.pid}


def run(env: dict[str, str]) -> list[str]:
    settings = topology.load()
    edge = env["EDGE_URL"]
    seed = int(_setting("BENCH_SEED", 1))
    data = ensure(env, users=int(_setting("BENCH_USERS", 10_000)),
                  tweets=int(_setting("BENCH_TWEETS", 100_000)), seed=seed).data
    tool = vegeta.ensure(settings.cache_dir)
    readers = workload.readers(data, int(_setting("BENCH_READERS", 200)), seed)
    rate, window = _rate(), _setting("SOAK_WINDOW_SECONDS", 60)
    minutes = _setting("SOAK_MINUTES", 30)
    sampler = CpuSampler()

    def targets() -> list[vegeta.Target]:
        tokens = asyncio.run(workload.log_in(edge, readers))
        return workload.targets(edge, data, tokens, seed)

    current, logged_in = targets(), time.monotonic()
    lines = [f"soak: {rate:.1f} req/s for {minutes:.0f} min in {window:.0f} s windows"]
    print(lines[0], flush=True)
    vegeta.attack(tool, current, rate, _setting("SOAK_WARMUP_SECONDS", 120), sampler)
    start_memory, steps = memory(), []
    ends = time.monotonic() + minutes * 60
    while time.monotonic() < ends:
        if time.monotonic() - logged_in > RELOGIN_SECONDS:
            current, logged_in = targets(), time.monotonic()
        step = Step.of(rate, window, vegeta.attack(tool, current, rate, window, sampler))
        steps.append(step)
        lines.append(f"  minute {len(steps) * window / 60:5.1f}: n={step.total.count}"
                     f" p50 {step.total.p50:6.1f} p99 {step.total.p99:6.1f} ms"
                     f" errors {step.total.errors} {' '.join(step.errors_seen)}")
        print(lines[-1], flush=True)
    end_memory = memory()
    count = sum(s.total.count for s in steps)
    errors = sum(s.total.errors for s in steps)
    worst = max((s.total.p99 for s in steps), default=0.0)
    lines.append(f"requests {count}, errors {errors} ({errors / max(1, count):.3%}),"
                 f" worst window p99 {worst:.1f} ms")
    grown = []
    lines.append(f"  {'process':<16} {'start MiB':>10} {'end MiB':>10} {'growth':>8}")
    for name, before in sorted(start_memory.items()):
        after = end_memory.get(name, 0)
        growth = (after - before) / before if before else 0.0
        lines.append(f"  {name:<16} {before / 1024:>10.0f} {after / 1024:>10.0f}"
                     f" {growth:>+8.1%}")
        if growth > GROWTH_LIMIT:
            grown.append(name)
    verdict = "PASSED" if not errors and not grown else "FAILED"
    lines.append(f"soak {verdict}: errors {errors}; grown by more than"
                 f" {GROWTH_LIMIT:.0%}: {', '.join(grown) or 'none'}")
    return lines
