"""python -m services.migrations [--stores postgres,cql] | --wait-for SERVICE"""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from services.migrations import runner
from services.migrations.errors import MigrationError
from services.migrations.settings import MigrationSettings


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m services.migrations",
        description="Apply the migrations of the stores named by the environment "
                    "(PG_DSN, SCYLLA_*, S3_*), or wait until one service's are applied.")
    cli.add_argument("--stores", default=",".join(runner.SCHEMAS),
                     help=f"comma-separated, in order, of {', '.join(runner.STORES)} "
                          f"[{','.join(runner.SCHEMAS)}]")
    cli.add_argument("--wait-for", metavar="SERVICE",
                     help="apply nothing: wait until SERVICE's migrations are applied "
                          "(a pod's initContainer)")
    cli.add_argument("--timeout", type=float, default=900.0,
                     help="seconds --wait-for waits before failing [900]")
    return cli


def run(args: argparse.Namespace, settings: MigrationSettings) -> None:
    """What the command line asks, against `settings` (the stack passes its own)."""
    if args.wait_for:
        runner.wait_for(settings, args.wait_for, timeout=args.timeout)
    else:
        runner.apply(settings, [s.strip() for s in args.stores.split(",") if s.strip()])


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = MigrationSettings()
        logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        run(args, settings)
    except (MigrationError, ValidationError) as exc:
        print(f"migrations: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
