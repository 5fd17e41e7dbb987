"""CPU per stack process (with its children: PostgreSQL's backends, ...) over a
load step, from /proc, so the chart shows which process the load saturates.
"other" is the rest of the machine (another stack sharing the cores, ...)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from stack import procs, topology
from stack.supervisor import Supervisor

TICKS = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    try:
        raw = (procs.PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _machine_busy() -> int:
    fields = [int(x) for x in (procs.PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields) - fields[3] - fields[4]  # all but idle and iowait


@dataclass
class Snapshot:
    at: float
    per_program: dict[str, int]
    machine: int


class CpuSampler:
    def __init__(self) -> None:
        self._programs = {name: p.pid for name, p in
                          Supervisor(topology.load()).processes().items() if p.pid}

    def snapshot(self) -> Snapshot:
        per = {name: sum(_ticks(p) for p in procs.tree(pid))
               for name, pid in self._programs.items()}
        return Snapshot(time.monotonic(), per, _machine_busy())

    @staticmethod
    def usage(before: Snapshot, after: Snapshot) -> dict[str, float]:
        """Percent of one core per program over the interval, and "other"."""
        seconds = after.at - before.at
        usage = {name: 100 * (after.per_program.get(name, 0) - ticks) / TICKS / seconds
                 for name, ticks in before.per_program.items()}
        machine = 100 * (after.machine - before.machine) / TICKS / seconds
        usage["other"] = max(0.0, machine - sum(usage.values()))
        return usage
