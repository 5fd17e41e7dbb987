"""python -m stack.backup backup|restore|list|jetstream|media|store-*."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from stack import topology
from stack.backup import pgbackrest, run, store
from stack.backup import settings as backup_settings
from stack.errors import StackError


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def _backup(_args: argparse.Namespace) -> None:
    m = run.backup()
    print(f"backup {m['label']}: {_mib(m['size'])} ({_mib(m['uploaded'])} uploaded), "
          f"PostgreSQL set {m['postgres']['set']}, consistent at {m['consistent_at']}")


def _restore(args: argparse.Namespace) -> None:
    at = run.parse_time(args.time) if args.time else None
    r = run.restore(args.label, at, args.force)
    print(f"restored {r.label} (PostgreSQL to {r.target.isoformat()}) in {r.seconds:.1f}s: "
          f"{r.counts}" + (f"; the previous data is in {r.aside}" if r.aside else ""))


def _jetstream(_args: argparse.Namespace) -> None:
    print(f"stream snapshot stored under {run.jetstream_only()}")


def _media(_args: argparse.Namespace) -> None:
    copied = run.media_only()
    print(f"media: {len(copied['objects'])} objects, {_mib(copied['uploaded'])} copied")


def _store_if_configured(_args: argparse.Namespace) -> None:
    """PostgreSQL archives WAL to the store once a backup was ever taken."""
    if pgbackrest.config_path(topology.load()).exists():
        store.ensure_running(backup_settings.load())


COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], None]]] = {
    "backup": ("back every durable store up under a new label", _backup),
    "restore": ("restore a label into an empty stack", _restore),
    "list": ("the labels in the backup store", lambda _a: print("\n".join(run.labels()))),
    "jetstream": ("the stream's snapshot alone (a k8s CronJob)", _jetstream),
    "media": ("media versioning and copies alone (a k8s CronJob)", _media),
    "store-start": ("start the local backup store",
                    lambda _a: store.ensure_running(backup_settings.load())),
    "store-stop": ("stop the local backup store",
                   lambda _a: store.stop(backup_settings.load())),
    "store-if-configured": ("start the local backup store if a backup was ever taken",
                            _store_if_configured),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.backup", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (text, _fn) in COMMANDS.items():
        sub = commands.add_parser(name, help=text)
        if name == "restore":
            sub.add_argument("label")
            sub.add_argument("--time", help="PostgreSQL's point in time (ISO 8601, UTC); "
                             "default: the backup's consistent point")
            sub.add_argument("--force", action="store_true",
                             help="stop the stack and move its data aside first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="backup: %(message)s", stream=sys.stderr)
    try:
        COMMANDS[args.command][1](args)
    except (StackError, ValueError) as exc:
        print(f"backup: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
