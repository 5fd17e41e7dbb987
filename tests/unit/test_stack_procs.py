"""The memory `make status` reports: RSS summed over a process tree counts a
shared page once per process; the proportional share (PSS) counts it once."""

from __future__ import annotations

import subprocess
import sys
import time

from stack import procs


def test_the_proportional_share_counts_shared_pages_once() -> None:
    # Two idle interpreters share libpython's and the other libraries' pages:
    # their RSS sum counts them twice, their PSS sum once. (Not this process:
    # it allocates between the two reads, which made PSS pass RSS at times.)
    children = [subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                 stdin=subprocess.PIPE) for _ in range(2)]
    try:
        pids = [c.pid for c in children]
        # Both up and idle: each has mapped the interpreter.
        deadline = time.monotonic() + 10
        while not all(procs.rss_kib([pid]) > 4096 for pid in pids):
            assert time.monotonic() < deadline, "the interpreters did not start"
            time.sleep(0.01)
        rss, pss = procs.rss_kib(pids), procs.pss_kib(pids)
        assert 0 < pss < rss
    finally:
        for child in children:
            child.communicate(b"")


def test_a_gone_process_counts_nothing() -> None:
    assert procs.pss_kib([2**22 + 1]) == 0
