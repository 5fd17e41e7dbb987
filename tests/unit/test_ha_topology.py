"""TOPOLOGY=ha (docs/HA.md) as the stack plans it, without starting anything:
every store's nodes, ports that collide with nothing, a contract that names
every node, and the light default left as it was."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.shared.messaging import events
from services.shared.stores.redis_client import RedisFailoverSettings
from stack import contract, programs, topology
from tests.chaos import faults
from tests.chaos.load import Answer
from tests.chaos.run import Phase

HA = {"TOPOLOGY": "ha"}


def plan(environ: dict[str, str]) -> dict[str, programs.Program]:
    settings = topology.load(environ)
    env = contract.local(settings)
    return {p.name: p for p in programs.build(settings, env, topology.runnable(settings))}


def test_the_default_is_the_light_single_node_stack(tmp_path: Path) -> None:
    settings = topology.load({"STACK_DIR": str(tmp_path)})
    assert not settings.ha
    assert topology.node_programs(settings) == {
        "redis": "redis", "redis-2": "redis", "redis-3": "redis", "nats": "nats",
        "cassandra": "cassandra", "postgres": "postgres"}
    env = contract.local(settings)
    assert env["NATS_URL"].count("nats://") == 1
    assert env["SCYLLA_HOSTS"] == "127.0.0.1"
    assert "'replication_factor': 1" in env["SCYLLA_REPLICATION"]
    assert "JETSTREAM_REPLICAS" not in env
    assert "REDIS_FAILOVER_WAIT_SECONDS" not in env
    assert "REDIS_WRITE_REPLICAS" not in env
    cassandra = plan({"STACK_DIR": str(tmp_path)})["cassandra"]
    assert "CASSANDRA_NODE" not in cassandra.env  # the light stack's config is unchanged


def test_ha_has_its_own_data_directory_and_refuses_a_single_redis() -> None:
    assert topology.load(HA).stack_dir == topology.REPO / ".data-ha"
    assert topology.load({}).stack_dir == topology.REPO / ".data"
    with pytest.raises(ValueError, match="TOPOLOGY"):
        topology.load({"TOPOLOGY": "triple"})
    with pytest.raises(ValueError, match="REDIS_MODE"):
        topology.load(HA | {"REDIS_MODE": "single"})


def test_ha_runs_every_store_replicated() -> None:
    settings = topology.load(HA)
    nodes = Counter(topology.node_programs(settings).values())
    assert nodes == {"redis": 6, "nats": 3, "cassandra": 3, "postgres": 2}
    programs_ = plan(HA)
    assert "postgres-failover" in programs_
    for name in ("nats", "nats-2", "nats-3"):
        argv = programs_[name].argv
        assert argv[argv.index("--routes") + 1].count("nats://") == 3
    for name, _, _ in topology.redis_nodes(settings):
        argv = programs_[name].argv
        assert argv[argv.index("--cluster-node-timeout") + 1] == "1500"
    addresses = {programs_[n.name].env["CASSANDRA_ADDRESS"]
                 for n in topology.cassandra_nodes(settings)}
    assert addresses == {"127.0.0.1", "127.0.0.2", "127.0.0.3"}


def test_every_ha_port_is_distinct() -> None:
    """Every port of the table one number, and each store node listening on
    its own (the Cassandra nodes share the CQL port, each on its address)."""
    settings = topology.load(HA)
    assert len(set(settings.ports.values())) == len(settings.ports)
    infra = [p.port for p in plan(HA).values() if p.port and p.tier is programs.Tier.INFRA]
    infra += [n.monitor_port for n in topology.nats_nodes(settings)]
    infra += [n.cluster_port for n in topology.nats_nodes(settings)]
    infra += [bus for _, _, bus in topology.redis_nodes(settings)]
    infra += [n.jmx_port for n in topology.cassandra_nodes(settings)]
    cql = settings.ports["CASSANDRA_PORT"]
    assert [p for p, n in Counter(infra).items() if n > 1] == [cql]


def test_the_ha_contract_names_every_node() -> None:
    env = contract.local(topology.load(HA))
    assert env["PG_DSN"].endswith("@127.0.0.1:15432,127.0.0.1:15433/twitter"
                                  "?target_session_attrs=read-write")
    assert events.servers(env["NATS_URL"]) == [
        "nats://127.0.0.1:14222", "nats://127.0.0.1:14223", "nats://127.0.0.1:14224"]
    assert env["REDIS_URL"].count(",") == 5
    assert env["SCYLLA_HOSTS"] == "127.0.0.1,127.0.0.2,127.0.0.3"
    assert "'replication_factor': 3" in env["SCYLLA_REPLICATION"]
    assert env["JETSTREAM_REPLICAS"] == "3"
    wait = RedisFailoverSettings.model_validate(
        {"redis_failover_wait_seconds": env["REDIS_FAILOVER_WAIT_SECONDS"],
         "redis_write_replicas": env["REDIS_WRITE_REPLICAS"]})
    assert wait.redis_failover_wait_seconds == 3
    assert wait.redis_write_replicas == 1


def answers(*spec: tuple[float, int]) -> list[Answer]:
    return [Answer("home", sent, status, 0.5) for sent, status in spec]


def test_a_node_fault_allows_no_non_2xx_answer_and_promotion_a_bounded_window() -> None:
    redis, postgres = faults.HA[0], faults.HA[3]
    quiet = Phase(redis, 0.0, answers=answers((1, 200), (2, 200)))
    assert quiet.within_goal()
    assert quiet.window() == 0
    one_503 = Phase(redis, 0.0, answers=answers((1, 200), (2, 503)))
    assert not one_503.within_goal()
    promoted = Phase(postgres, 0.0, answers=answers((1, 503), (4, 503), (6, 200)))
    assert promoted.window() == pytest.approx(3.5)
    assert promoted.within_goal()
    too_long = Phase(postgres, 0.0, answers=answers((1, 503), (30, 503)))
    assert not too_long.within_goal()
