"""python -m stack up|down|status|env|migrate|trace: the local stack of real servers."""

from __future__ import annotations

import argparse
import logging
import sys

from stack import contract, topology
from stack.errors import StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up_ = commands.add_parser("up", help="install what is missing, start everything, wait, "
                              "migrate")
    up_.add_argument("--infra-only", action="store_true",
                     help="start and migrate the stores only, no service (for a restore)")
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser("status", help="state and live health of each component")
    commands.add_parser("env", help="the environment contract as shell export lines")
    migrate_ = commands.add_parser("migrate", help="apply PostgreSQL and CQL migrations to "
                                   "the configured stores only (what a deploy's migration "
                                   "Job runs)")
    migrate_.add_argument("--wait-for", metavar="SERVICE", help="apply nothing: wait until "
                          "SERVICE's migrations are applied (a pod's initContainer)")
    migrate_.add_argument("--timeout", type=float, default=900.0,
                          help="seconds --wait-for waits before failing [900]")
    trace = commands.add_parser("trace", help="the span tree of the latest request with "
                                "an x-request-id (without one: the latest traced request)")
    trace.add_argument("request_id", nargs="?", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="stack: %(message)s", stream=sys.stderr)

    try:
        match args.command:
            case "up":
                from stack.up import up

                up(app=not args.infra_only)
            case "down":
                from stack.down import down

                down()
            case "status":
                from stack.status import status

                return status()
            case "migrate":
                from stack import migrate

                env = contract.build(topology.load())
                if args.wait_for:
                    migrate.wait_for(env, args.wait_for, timeout=args.timeout)
                else:
                    migrate.postgres(env)
                    migrate.cql(env)
            case "trace":
                from stack import trace as traces

                return traces.main(contract.build(topology.load())["JAEGER_URL"],
                                   args.request_id)
            case "env":
                sys.stdout.write(contract.export_lines(contract.build(topology.load())))
    except (StackError, ValueError) as exc:
        print(f"stack: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
