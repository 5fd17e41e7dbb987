"""python -m stack up|down|status|env|migrate|trace: the local stack of real servers."""

from __future__ import annotations

import argparse
import logging
import sys

from services.migrations.errors import MigrationError
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
    # Its options are the production runner's (python -m services.migrations --help).
    commands.add_parser("migrate", add_help=False,
                        help="apply PostgreSQL and CQL migrations to the configured stores "
                        "only, or --wait-for SERVICE: `python -m services.migrations` "
                        "against this stack")
    trace = commands.add_parser("trace", help="the span tree of the latest request with "
                                "an x-request-id (without one: the latest traced request)")
    trace.add_argument("request_id", nargs="?", default=None)
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "migrate":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
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
                from services.migrations import __main__ as migrations
                from services.migrations.settings import MigrationSettings

                env = contract.build(topology.load())
                cli = migrations.parser()
                cli.prog = "python -m stack migrate"
                migrations.run(cli.parse_args(rest), MigrationSettings.from_mapping(env))
            case "trace":
                from stack import trace as traces

                return traces.main(contract.build(topology.load())["JAEGER_URL"],
                                   args.request_id)
            case "env":
                sys.stdout.write(contract.export_lines(contract.build(topology.load())))
    except (StackError, MigrationError, ValueError) as exc:
        print(f"stack: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
