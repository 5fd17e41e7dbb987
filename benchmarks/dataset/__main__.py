"""`python -m benchmarks.dataset [--users N] [--tweets M] [--seed S]`: generates
the benchmark's social network and loads whatever of it is missing."""

from __future__ import annotations

import argparse

from benchmarks.dataset.load import ensure
from stack import contract, topology


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dataset", description=__doc__)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--tweets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    env = contract.build(topology.load())
    report = ensure(env, users=args.users, tweets=args.tweets, seed=args.seed)
    print(report.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
