"""The memory `make status` reports: RSS summed over a process tree counts a
shared page once per process; the proportional share (PSS) counts it once."""

from __future__ import annotations

import os
import subprocess
import sys

from stack import procs


def test_the_proportional_share_counts_shared_pages_once() -> None:
    # A parent and a forked child share the interpreter's pages: their RSS
    # sum counts them twice, their PSS sum once.
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        pids = [os.getpid(), child.pid]
        rss, pss = procs.rss_kib(pids), procs.pss_kib(pids)
        assert 0 < pss < rss
    finally:
        child.communicate(b"")


def test_a_gone_process_counts_nothing() -> None:
    assert procs.pss_kib([2**22 + 1]) == 0
