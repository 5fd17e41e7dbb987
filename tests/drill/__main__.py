"""`make restore-drill`: backup under traffic, destroy, restore, verify (exit 1 on a
missing write).

    python -m tests.drill [--users 8] [--writers 3] [--before 20] [--after 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from stack import contract, topology
from tests.drill.run import drill


def main() -> int:
    parser = argparse.ArgumentParser(prog="make restore-drill")
    parser.add_argument("--users", type=int, default=8, help="users signed up first")
    parser.add_argument("--writers", type=int, default=3, help="concurrent write loops")
    parser.add_argument("--before", type=float, default=20.0,
                        help="seconds of writes before the backup starts")
    parser.add_argument("--after", type=float, default=10.0,
                        help="seconds of writes after the backup, before the disaster")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="drill: %(message)s", stream=sys.stderr)
    env = contract.build(topology.load())
    os.environ.update({k: v for k, v in env.items() if k not in os.environ})
    report = asyncio.run(drill(env["EDGE_URL"], args.users, args.writers, args.before,
                               args.after))
    print("\n".join(report.lines()))
    passed = not report.verdict.missing and sum(report.verdict.verified.values()) > 0
    print("restore-drill: PASSED" if passed else "restore-drill: FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
