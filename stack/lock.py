"""One stack command at a time per STACK_DIR (two `up`s would race on supervisord)."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("stack")


@contextmanager
def exclusive(stack_dir: Path) -> Iterator[None]:
    stack_dir.mkdir(parents=True, exist_ok=True)
    with (stack_dir / ".lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another stack command on %s", stack_dir)
            fcntl.flock(f, fcntl.LOCK_EX)
        yield
