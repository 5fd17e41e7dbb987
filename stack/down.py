"""`stack down`: shut supervisord down and wait until it and every child have exited."""

from __future__ import annotations

import logging
import os
import time

from stack import procs, topology, wait
from stack.errors import StackError
from stack.lock import exclusive
from stack.supervisor import Supervisor

log = logging.getLogger("stack")
# Programs are stopped by now; this bounds supervisord's own exit.
SHUTDOWN_TIMEOUT = 60.0


def down() -> None:
    """Stops the TOPOLOGY named, or without one whichever topology runs."""
    named = os.environ.get("TOPOLOGY", "").strip()
    names = [named] if named else list(topology.TOPOLOGIES)
    dirs = set()
    for name in names:
        settings = topology.load({**os.environ, "TOPOLOGY": name})
        if settings.stack_dir not in dirs:
            dirs.add(settings.stack_dir)
            _down(settings)


def _down(settings: topology.Settings) -> None:
    started = time.monotonic()
    supervisor = Supervisor(settings)
    with exclusive(settings.stack_dir):
        pid = supervisor.pid()
        if pid is None:
            log.info("not running (no supervisord answers on %s)", supervisor.paths.socket)
            return
        pids = procs.tree(pid)
        log.info("stopping supervisord %d and its %d child processes", pid, len(pids) - 1)
        try:
            supervisor.stop_by_priority()
        finally:
            supervisor.shutdown()  # whatever happened above, supervisord ends its children

        def gone() -> None:
            if left := [p for p in pids if procs.alive(p)]:
                raise StackError(f"still running after {SHUTDOWN_TIMEOUT:.0f}s: pids {left}")

        wait.until(gone, SHUTDOWN_TIMEOUT, interval=0.2)
    log.info("stopped in %.1fs", time.monotonic() - started)
