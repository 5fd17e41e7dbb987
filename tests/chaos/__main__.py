"""`make chaos`: every fault under traffic, then the table (exit 1 on a failure).

    python -m tests.chaos [--rate 20] [--hold 10] [--only redis,nats]
"""

from __future__ import annotations

import argparse
import asyncio
import os

from stack import contract, topology
from tests.chaos import faults
from tests.chaos.run import chaos


def main() -> int:
    parser = argparse.ArgumentParser(prog="make chaos")
    parser.add_argument("--rate", type=float, default=20.0, help="requests a second")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds a stop lasts")
    parser.add_argument("--tail", type=float, default=15.0,
                        help="seconds of traffic after each recovery")
    parser.add_argument("--only", default="", help="comma-separated programs to fault")
    args = parser.parse_args()
    settings = topology.load()
    # TOPOLOGY=ha: one node of each replicated store killed (docs/HA.md).
    chosen = [f for f in (faults.HA if settings.ha else faults.ALL)
              if not args.only or f.program in args.only.split(",")]
    env = contract.build(settings)
    # What the services read (the internal token among it) for the tools we use.
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    report = asyncio.run(chaos(env, chosen, rate=args.rate, hold=args.hold, tail=args.tail))
    print(report.table())
    print("chaos: PASSED" if report.passed else "chaos: FAILED")
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
