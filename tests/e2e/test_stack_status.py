"""`make status` (stack/status.py) against the running stack: each process of a
multi-process service probed on its own port, each worker with its consumers'
pending, ack-pending and dead-letter counts."""

from __future__ import annotations

import re

import pytest

from stack import status, topology

pytestmark = pytest.mark.e2e


def test_every_process_is_probed_on_its_own_port() -> None:
    table, _ = status.rows()
    rows = {r.name: r for r in table}
    for service, processes in topology.load().processes.items():
        if processes < 2 or service not in rows:
            continue
        names = [service] + [f"{service}-p{n}" for n in range(2, processes + 1)]
        ports = [rows[n].port for n in names]
        assert len(set(ports)) == len(ports), ports  # not the shared port twice
        for name in names:
            assert rows[name].health == "SERVING", rows[name]


def test_workers_show_their_consumers_counts() -> None:
    table, _ = status.rows()
    workers = [r for r in table if r.name.endswith("-worker")]
    assert workers
    for row in workers:
        assert re.fullmatch(r"consuming: .+", row.health), row
        for consumer in row.health.removeprefix("consuming: ").split("), "):
            assert re.search(r"\(pending \d+, ack-pending \d+, dead \d+\)?$", consumer), row


def test_counts_are_attached_to_each_consumer() -> None:
    counts = {"a": {"pending": 3, "ack-pending": 1, "dead": 2}}
    assert status._with_counts("consuming: a, b", counts) == (
        "consuming: a (pending 3, ack-pending 1, dead 2), b (counts not sampled yet)")
    assert status._with_counts("not ready", counts) == "not ready"
