"""`make bench`: every benchmark against the running stack, one table of figures."""

from __future__ import annotations

import sys

from benchmarks import users_bench
from stack import contract, topology

SUITES = {"users": users_bench.run}


def main(argv: list[str]) -> int:
    env = contract.build(topology.load())
    chosen = argv[1:] or list(SUITES)
    for name in chosen:
        print(f"== {name}", flush=True)
        for line in SUITES[name](env):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
