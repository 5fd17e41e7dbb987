"""The stack's Cassandra runs as stack/cassandra and stack/run/cassandra.sh
configure it, read back from the node itself (its virtual tables, its threads
in /proc), so a template or flag that stops taking effect is caught."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.shared.stores.cassandra import Cql
from stack import topology
from tests.support.stack_control import supervisorctl


async def test_the_node_reads_the_system_clock_instead_of_sampling_it(cql: Cql) -> None:
    """No thread waking 500 times a second to sample the clock (jvm17.options)."""
    rows = await cql.execute(await cql.prepare(
        "SELECT value FROM system_views.system_properties WHERE name = ?"),
        ("cassandra.monotonic_clock.approx",))
    assert [r["value"] for r in rows] == ["org.apache.cassandra.utils.MonotonicClock$SystemClock"]


def _timer_slacks(pid: int) -> set[int]:
    slacks = set()
    for tid in Path(f"/proc/{pid}/task").iterdir():
        try:
            slacks.add(int(Path(f"/proc/{tid.name}/timerslack_ns").read_text()))
        except (FileNotFoundError, ProcessLookupError):  # the thread ended meanwhile
            continue
        except PermissionError:  # another process's slack: CAP_SYS_NICE (root) only
            pytest.skip("reading the node's timer slack needs CAP_SYS_NICE")
    return slacks


def test_every_thread_of_the_node_parks_with_the_stacks_timer_slack() -> None:
    """The request pool's idle workers park 10 us at a time; the kernel's 50 us
    slack made that ~4,000 wakes a second a thread (stack/run/cassandra.sh)."""
    expected = int(os.environ.get("CASSANDRA_TIMER_SLACK_NS", "250000"))  # the script's default
    for node in topology.cassandra_nodes(topology.load()):
        pid = int(supervisorctl("pid", node.name).strip())
        assert _timer_slacks(pid) == {expected}, node.name
