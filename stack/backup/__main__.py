"""python -m stack.backup backup|restore|list|store-start|store-stop."""

from __future__ import annotations

import argparse
import logging
import sys

from stack.backup import run, store
from stack.backup import settings as backup_settings
from stack.errors import StackError


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.backup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backup", help="back every durable store up under a new label")
    restore = commands.add_parser("restore", help="restore a label into an empty stack")
    restore.add_argument("label")
    restore.add_argument("--time", help="PostgreSQL's point in time (ISO 8601, UTC); "
                         "default: the end of the backup")
    restore.add_argument("--force", action="store_true",
                         help="stop the stack and move its data aside first")
    commands.add_parser("list", help="the labels in the backup store")
    commands.add_parser("store-start", help="start the local backup store")
    commands.add_parser("store-stop", help="stop the local backup store")
    commands.add_parser("store-if-configured",
                        help="start the local backup store if a backup was ever taken "
                             "(PostgreSQL then archives WAL to it)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="backup: %(message)s", stream=sys.stderr)
    try:
        match args.command:
            case "backup":
                m = run.backup()
                print(f"backup {m['label']}: {_mib(m['size'])} "
                      f"({_mib(m['uploaded'])} uploaded), PostgreSQL set "
                      f"{m['postgres']['set']}, consistent at {m['consistent_at']}")
            case "restore":
                at = run.parse_time(args.time) if args.time else None
                r = run.restore(args.label, at, args.force)
                print(f"restored {r.label} (PostgreSQL to {r.target.isoformat()}) in "
                      f"{r.seconds:.1f}s: {r.counts}"
                      + (f"; the previous data is in {r.aside}" if r.aside else ""))
            case "list":
                print("\n".join(run.labels()))
            case "store-start":
                store.ensure_running(backup_settings.load())
            case "store-stop":
                store.stop(backup_settings.load())
            case "store-if-configured":
                from stack import topology
                from stack.backup import pgbackrest

                if pgbackrest.config_path(topology.load()).exists():
                    store.ensure_running(backup_settings.load())
    except (StackError, ValueError) as exc:
        print(f"backup: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
