"""The run's two charts: latency percentiles against offered load, and CPU per
process against offered load."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from benchmarks.mixed.steps import P99_GOAL_MS, P99_LIMIT_MS, Step

SHOWN_PROCESSES = 8


def latency(steps: list[Step], saturation: float | None, path: Path) -> None:
    steps = sorted(steps, key=lambda s: s.rate)
    rates = [s.rate for s in steps]
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, values in (("p50", [s.total.p50 for s in steps]),
                         ("p90", [s.total.p90 for s in steps]),
                         ("p99", [s.total.p99 for s in steps])):
        ax.plot(rates, values, marker="o", label=name)
    ax.axhline(P99_GOAL_MS, color="grey", linestyle="--", linewidth=1, label="p99 goal (50 ms)")
    ax.axhline(P99_LIMIT_MS, color="grey", linestyle=":", linewidth=1, label="stop (100 ms)")
    if saturation:
        ax.axvline(saturation, color="red", linewidth=1,
                   label=f"saturation {saturation:.0f} req/s")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (req/s, open loop, 60/30/10 mix)")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Mixed workload through the edge: latency against offered load")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cpu(steps: list[Step], path: Path) -> None:
    steps = sorted(steps, key=lambda s: s.rate)
    totals: dict[str, float] = {}
    for step in steps:
        for name, pct in step.cpu.items():
            totals[name] = totals.get(name, 0.0) + pct
    shown = sorted(totals, key=lambda n: -totals[n])[:SHOWN_PROCESSES]
    fig, ax = plt.subplots(figsize=(8, 5))
    rates = [s.rate for s in steps]
    for name in shown:
        ax.plot(rates, [s.cpu.get(name, 0.0) for s in steps], marker="o", label=name)
    ax.axhline(100, color="grey", linestyle="--", linewidth=1, label="one core")
    ax.set_xlabel("offered load (req/s)")
    ax.set_ylabel("CPU (% of one core, 2 cores in all)")
    ax.set_title("CPU per process during each step")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
