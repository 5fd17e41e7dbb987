"""`make bench BENCH=mixed` (issue 12): the generated social network under a
60/30/10 mix through the edge, open loop at constant rates stepped up until
p99 passes 100 ms or errors pass 1%; the saturation point is the highest rate
with p99 <= 50 ms and no errors (and the sustained rate, the highest before
the first step that misses). Then 50% and 90% of it are measured again,
and the baselines below the edge. Sizes and pacing come from BENCH_USERS,
BENCH_TWEETS, BENCH_SEED, BENCH_READERS, BENCH_STEP_SECONDS, BENCH_START_RATE
and BENCH_RATE_FACTOR (defaults: the issue's full size)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import wrk
from benchmarks.dataset.graph import User
from benchmarks.dataset.load import ensure
from benchmarks.mixed import baselines, charts, vegeta, workload
from benchmarks.mixed.cpu import CpuSampler
from benchmarks.mixed.steps import Step, saturation_point, sustained_rate
from stack import topology

RESULTS = topology.REPO / "benchmarks" / "results"
STEPS_BUDGET_SECONDS = 480  # the stepping stops here whatever the latencies


def setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


@dataclass
class Setup:
    """The dataset loaded, the readers logged in, their requests drawn."""

    tool: Path  # vegeta
    readers: list[User]
    tokens: dict[int, str]
    targets: list[vegeta.Target]
    load_seconds: float
    lines: list[str]


def prepare(env: dict[str, str]) -> Setup:
    settings = topology.load()
    edge = env["EDGE_URL"]
    seed = int(setting("BENCH_SEED", 1))
    report = ensure(env, users=int(setting("BENCH_USERS", 10_000)),
                    tweets=int(setting("BENCH_TWEETS", 100_000)), seed=seed)
    tool = vegeta.ensure(settings.cache_dir)
    readers = workload.readers(report.data, int(setting("BENCH_READERS", 200)), seed)
    t0 = time.monotonic()
    tokens = asyncio.run(workload.log_in(edge, readers))
    asyncio.run(workload.warm_up(edge, tokens))
    lines = [report.line(), f"{len(tokens)} readers logged in and their timelines"
             f" materialised in {time.monotonic() - t0:.1f} s"]
    return Setup(tool, readers, tokens, workload.targets(edge, report.data, tokens, seed),
                 report.seconds, lines)


def run(env: dict[str, str]) -> list[str]:
    started = time.monotonic()
    setup = prepare(env)
    lines = list(setup.lines)
    tool, readers, tokens, targets = setup.tool, setup.readers, setup.tokens, setup.targets
    seconds = setting("BENCH_STEP_SECONDS", 20)
    sampler = CpuSampler()

    def step(rate: float) -> Step:
        return Step.of(rate, seconds, vegeta.attack(tool, targets, rate, seconds, sampler))

    vegeta.attack(tool, targets, setting("BENCH_START_RATE", 5), 15, sampler)  # warm caches
    steps: list[Step] = []
    rate = setting("BENCH_START_RATE", 5)
    steps_started = time.monotonic()
    while time.monotonic() - steps_started < STEPS_BUDGET_SECONDS:
        steps.append(step(rate))
        print(steps[-1].line(), flush=True)
        if steps[-1].overloaded:
            break
        rate = round(rate * setting("BENCH_RATE_FACTOR", 1.25), 1)
    saturation, held = saturation_point(steps), sustained_rate(steps)
    lines += [s.line() for s in steps]
    checks: dict[str, Step] = {}
    if saturation:
        lines.append(f"saturation point (p99 <= 50 ms, no errors): {saturation:.1f} req/s")
        lines.append("sustained (every step up to it p99 <= 50 ms, no errors): "
                     + (f"{held:.1f} req/s" if held else "none, the first step missed"))
        for share in (0.5, 0.9):
            checks[f"{share:.0%}"] = step(round(saturation * share, 1))
            lines.append(checks[f"{share:.0%}"].line(f"{share:.0%} sat"))
    else:
        lines.append("no step met p99 <= 50 ms without errors: lower BENCH_START_RATE")
    lines += _per_kind(checks)
    reader = readers[0].user_id
    base = _baselines(env, topology.load().cache_dir, reader, tokens[reader])
    lines += [b.line() for b in base]
    lines += _ratios(base, saturation)
    lines += _write(steps, checks, base, saturation, lines, setup.load_seconds)
    lines.append(f"total wall time {time.monotonic() - started:.0f} s")
    return lines


def _per_kind(checks: dict[str, Step]) -> list[str]:
    lines = []
    for label, step in checks.items():
        for kind, lat in step.kinds.items():
            lines.append(f"  at {label} sat, {kind:<12} n={lat.count:<6} p50 {lat.p50:>7.1f}"
                         f"  p99 {lat.p99:>7.1f} ms  errors {lat.errors}")
    return lines


def _baselines(env: dict[str, str], cache_dir: Path, user_id: int,
               token: str) -> list[wrk.Result]:
    return [baselines.redis(env["REDIS_URL"], user_id),
            baselines.grpc_direct(cache_dir, env["TIMELINE_ADDR"], user_id, token),
            baselines.edge_home(env["EDGE_URL"], user_id, token),
            baselines.envoy_trivial(env["EDGE_URL"])]


def _ratios(base: list[wrk.Result], saturation: float | None) -> list[str]:
    redis, direct, edge, trivial = base
    lines = [
        f"{'gRPC GetHomeTimeline / raw Redis page query':<46} x{direct.rps / redis.rps:.3f}"
        f" req/s   p50 x{direct.p50_ms / redis.p50_ms:.0f}",
        f"{'edge GetHomeTimeline / gRPC direct':<46} x{edge.rps / direct.rps:.2f}"
        f" req/s   p50 x{edge.p50_ms / direct.p50_ms:.2f}",
        f"{'edge GetHomeTimeline / Envoy + trivial gRPC':<46} x{edge.rps / trivial.rps:.2f}"
        f" req/s",
    ]
    if saturation:
        lines.append(f"{'mixed saturation / edge GetHomeTimeline max':<46}"
                     f" x{saturation / edge.rps:.2f}")
    return lines


def _write(steps: list[Step], checks: dict[str, Step], base: list[wrk.Result],
           saturation: float | None, lines: list[str], load_seconds: float) -> list[str]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result = {
        "at": stamp, "saturation_rps": saturation, "dataset_load_seconds": load_seconds,
        "steps": [s.as_json() for s in steps],
        "checks": {label: s.as_json() for label, s in checks.items()},
        "baselines": [{"name": b.name, "rps": b.rps, "p50_ms": b.p50_ms, "p99_ms": b.p99_ms,
                       "errors": b.errors} for b in base],
        "summary": lines,
    }
    path = RESULTS / f"mixed-{stamp}.json"
    path.write_text(json.dumps(result, indent=2))
    shutil.copyfile(path, RESULTS / "mixed-latest.json")
    (RESULTS / "mixed-latest.txt").write_text("\n".join(lines) + "\n")
    all_steps = steps + list(checks.values())
    charts.latency(all_steps, saturation, RESULTS / "mixed-latency.png")
    charts.cpu(all_steps, RESULTS / "mixed-cpu.png")
    return [f"results: {path.relative_to(topology.REPO)}, charts:"
            f" benchmarks/results/mixed-latency.png, benchmarks/results/mixed-cpu.png"]
