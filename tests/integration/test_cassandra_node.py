"""The stack's Cassandra runs as stack/cassandra configures it, read back from
the node itself (its virtual tables), so a template or flag that stops taking
effect is caught."""

from __future__ import annotations

from services.shared.stores.cassandra import Cql


async def test_the_node_reads_the_system_clock_instead_of_sampling_it(cql: Cql) -> None:
    """No thread waking 500 times a second to sample the clock (jvm17.options)."""
    rows = await cql.execute(await cql.prepare(
        "SELECT value FROM system_views.system_properties WHERE name = ?"),
        ("cassandra.monotonic_clock.approx",))
    assert [r["value"] for r in rows] == ["org.apache.cassandra.utils.MonotonicClock$SystemClock"]

