"""The local stack's topology (stack/topology.py) and environment contract
(stack/contract.py): every port a distinct number, whatever the environment
overrides; the contract names every store and service the services read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from services.shared.ports import INFRA_PORTS, SERVICE_PORTS
from stack import contract, freshness, keys, programs, redis_cluster, topology

# The offset ports a second stack on this machine uses (see .stack-env).
OFFSET_ENV = {var: str(port + 20_000) for var, port in INFRA_PORTS.items()
              if port + 20_000 < 65536} | {
    topology.service_port_var(s): str(p + 20_000) for s, p in SERVICE_PORTS.items()}


def listening(settings: topology.Settings) -> list[int]:
    """Every port the stack's programs listen on: the stores and the edge,
    each service's shared gRPC port, and each process's own and metrics ports."""
    ports = list(settings.ports.values())  # the stores', the edge's, each service's
    for name in topology.services():
        for program in programs.service(name, settings, {}):
            ports.append(int(program.env["METRICS_PORT"]))
            own = int(program.env.get("GRPC_PROCESS_PORT", "0"))
            if own:
                ports.append(own)
    return ports


@pytest.mark.parametrize("environ", [
    {},
    OFFSET_ENV,
    {f"{s.upper()}_PROCESSES": "9" for s in SERVICE_PORTS},
], ids=["defaults", "offset", "nine processes each"])
def test_every_port_is_distinct(environ: dict[str, str]) -> None:
    ports = listening(topology.load(environ))
    repeated = [p for p, n in Counter(ports).items() if n > 1]
    assert repeated == []
    assert all(0 < p < 65536 for p in ports)


def test_process_ports() -> None:
    assert topology.process_ports(17102, 1) == []  # one process: the shared port only
    assert topology.process_ports(17102, 3) == [17112, 17122, 17132]
    settings = topology.load({"TWEETS_PROCESSES": "3"})
    procs = programs.service("tweets", settings, {})
    assert [p.name for p in procs if not p.name.endswith("-worker")] == [
        "tweets", "tweets-p2", "tweets-p3"]
    assert {p.env["GRPC_PORT"] for p in procs if "GRPC_PORT" in p.env} == {"17102"}
    assert [p.env["GRPC_PROCESS_PORT"] for p in procs if "GRPC_PROCESS_PORT" in p.env] == [
        "17112", "17122", "17132"]


def test_every_service_runs_one_process_unless_told_otherwise() -> None:
    """On this 2-core machine one process a service beats two (stack/topology.py)."""
    settings = topology.load({})
    assert set(settings.processes.values()) == {1}


def test_environment_overrides(tmp_path: Path) -> None:
    settings = topology.load({"PG_PORT": " 25432 ", "USERS_PORT": "27101",
                              "TIMELINE_PROCESSES": "4", "STACK_DIR": str(tmp_path),
                              "TWITTER_CACHE": str(tmp_path / "cache"),
                              "REDIS_PORT": ""})
    assert settings.ports["PG_PORT"] == 25432
    assert settings.service_port("users") == 27101
    assert settings.ports["REDIS_PORT"] == INFRA_PORTS["REDIS_PORT"]  # empty: default
    assert settings.processes["timeline"] == 4
    assert settings.processes["tweets"] == 1
    assert settings.processes["users"] == 1
    assert settings.stack_dir == tmp_path
    assert settings.logs_dir == tmp_path / "logs"
    assert settings.cache_dir == tmp_path / "cache"


def test_a_relative_stack_dir_is_made_absolute() -> None:
    assert topology.load({"STACK_DIR": "relative/data"}).stack_dir.is_absolute()


@pytest.mark.parametrize(("var", "value"), [
    ("PG_PORT", "0"), ("PG_PORT", "65536"), ("PG_PORT", "54x"), ("USERS_PORT", "-1"),
    ("TWEETS_PROCESSES", "0"), ("TWEETS_PROCESSES", "10"), ("TWEETS_PROCESSES", "two"),
    ("REDIS_MODE", "sentinel"),
])
def test_bad_values_are_refused(var: str, value: str) -> None:
    with pytest.raises(ValueError, match=var):
        topology.load({var: value})


def test_optional_components_run_only_with_their_binary(tmp_path: Path) -> None:
    without = topology.load({})
    assert "meilisearch" not in topology.runnable(without)
    assert {"postgres", "redis", "nats", "cassandra", "minio"} <= set(
        topology.runnable(without))
    binary = tmp_path / "meilisearch"
    with_it = topology.load({"MEILISEARCH_BIN": str(binary)})
    assert with_it.binaries == {"meilisearch": binary}
    assert "meilisearch" in topology.runnable(with_it)


def test_redis_is_a_cluster_of_three_primaries_or_one_server(tmp_path: Path) -> None:
    cluster = topology.load(OFFSET_ENV | {"STACK_DIR": str(tmp_path)})
    servers = programs.redis_servers(cluster)
    assert [p.name for p in servers] == ["redis", "redis-2", "redis-3"]
    for program, port, bus in zip(servers, ("REDIS_PORT", "REDIS_PORT_2", "REDIS_PORT_3"),
                                  ("REDIS_BUS_PORT", "REDIS_BUS_PORT_2", "REDIS_BUS_PORT_3"),
                                  strict=True):
        argv = " ".join(program.argv)
        assert f"--port {cluster.ports[port]} " in argv
        assert f"--cluster-enabled yes --cluster-port {cluster.ports[bus]} " in argv
        assert program.directory == tmp_path / program.name  # its own nodes.conf
    single = topology.load(OFFSET_ENV | {"STACK_DIR": str(tmp_path), "REDIS_MODE": "single"})
    [server] = programs.redis_servers(single)
    assert "--cluster-enabled" not in server.argv
    assert contract.local(single)["REDIS_URL"] == \
        f"redis://127.0.0.1:{single.ports['REDIS_PORT']}/0"


def test_a_single_servers_data_from_before_the_cluster_moves_to_its_own_directory(
        tmp_path: Path) -> None:
    cluster = topology.load(OFFSET_ENV | {"STACK_DIR": str(tmp_path)})
    old = tmp_path / "redis"
    (old / "appendonlydir").mkdir(parents=True)
    (old / "appendonlydir" / "appendonly.aof.1.base.rdb").write_bytes(b"REDIS0011")
    redis_cluster.adopt_single_server_data(cluster)
    assert not old.exists()
    assert (tmp_path / "redis-single" / "appendonlydir" / "appendonly.aof.1.base.rdb"
            ).read_bytes() == b"REDIS0011"
    # A cluster node's own directory (nodes.conf) is left alone.
    old.mkdir()
    (old / "nodes.conf").write_text("cluster layout")
    redis_cluster.adopt_single_server_data(cluster)
    assert (old / "nodes.conf").exists()
    # Both directories holding a single server's data: refused, nothing moved.
    (old / "nodes.conf").unlink()
    (old / "dump.rdb").write_bytes(b"REDIS0011")
    with pytest.raises(RuntimeError, match="keep one"):
        redis_cluster.adopt_single_server_data(cluster)
    assert (old / "dump.rdb").exists()


def test_every_service_in_the_tree_has_a_port() -> None:
    assert topology.unknown_services() == []
    assert set(topology.services()) <= set(SERVICE_PORTS)
    assert topology.service_of("timeline-worker") == "timeline"
    assert topology.service_of("tweets-p2") == "tweets"
    assert topology.service_of("users") == "users"


def test_the_contract_names_every_store_and_service(tmp_path: Path) -> None:
    settings = topology.load(OFFSET_ENV | {"STACK_DIR": str(tmp_path)})
    env = contract.local(settings)
    stores = {"PG_DSN", "REDIS_URL", "NATS_URL", "SCYLLA_HOSTS", "SCYLLA_PORT",
              "SCYLLA_KEYSPACE", "SCYLLA_REPLICATION", "S3_ENDPOINT_URL", "S3_ACCESS_KEY",
              "S3_SECRET_KEY", "S3_BUCKET", "S3_REGION", "AUTH_KEYS_DIR", "EDGE_URL",
              "STACK_DIR"}
    addrs = {topology.service_addr_var(s) for s in SERVICE_PORTS}
    assert stores | addrs <= set(env)
    # The ports the contract hands out are the settings' own.
    p = settings.ports
    assert env["PG_DSN"].endswith(f"@127.0.0.1:{p['PG_PORT']}/twitter")
    assert env["REDIS_URL"] == (f"redis+cluster://127.0.0.1:{p['REDIS_PORT']},"
                                f"127.0.0.1:{p['REDIS_PORT_2']},127.0.0.1:{p['REDIS_PORT_3']}")
    assert env["NATS_URL"] == f"nats://127.0.0.1:{p['NATS_PORT']}"
    assert env["SCYLLA_PORT"] == str(p["CASSANDRA_PORT"])
    assert env["S3_ENDPOINT_URL"] == f"http://127.0.0.1:{p['MINIO_PORT']}"
    assert env["EDGE_URL"] == f"http://127.0.0.1:{p['EDGE_PORT']}"
    assert env["USERS_ADDR"] == f"127.0.0.1:{settings.service_port('users')}"
    assert env["AUTH_KEYS_DIR"] == str(tmp_path / "keys")
    # No local Meilisearch, no token generated yet: neither is in the contract.
    assert "MEILISEARCH_URL" not in env
    assert "INTERNAL_TOKEN" not in env


def test_the_contract_carries_the_generated_token_and_a_local_meilisearch(
        tmp_path: Path) -> None:
    token = keys.ensure_internal_token(tmp_path)
    settings = topology.load({"STACK_DIR": str(tmp_path),
                              "MEILISEARCH_BIN": str(tmp_path / "meili")})
    env = contract.local(settings)
    assert env["INTERNAL_TOKEN"] == token
    assert env["MEILISEARCH_URL"] == f"http://127.0.0.1:{settings.ports['MEILISEARCH_PORT']}"
    assert env["MEILISEARCH_API_KEY"]


def test_the_callers_values_win_and_mark_components_external(tmp_path: Path) -> None:
    settings = topology.load({"STACK_DIR": str(tmp_path)})
    ours = contract.local(settings)
    caller = {"REDIS_URL": "redis://cache.internal:6379/0", "PG_DSN": ours["PG_DSN"],
              "MEILISEARCH_URL": "http://search.internal:7700", "UNRELATED": "x"}
    env = contract.build(settings, caller)
    assert env["REDIS_URL"] == "redis://cache.internal:6379/0"
    assert env["MEILISEARCH_URL"] == "http://search.internal:7700"  # passed through
    assert "UNRELATED" not in env
    assert env["NATS_URL"] == ours["NATS_URL"]
    # The local value given back (e.g. from `python -m stack env`) is still local.
    assert contract.external(settings, caller) == {"redis", "meilisearch"}
    assert contract.external(settings, {}) == set()


def test_env_files_and_exports_round_trip(tmp_path: Path) -> None:
    env = {"A": "1", "QUOTED": "it's got spaces"}
    path = tmp_path / "stack.env"
    contract.write_env_file(path, env)
    assert path.read_text() == "A=1\nQUOTED=it's got spaces\n"
    assert contract.export_lines(env) == "export A=1\nexport QUOTED='it'\"'\"'s got spaces'\n"


def test_the_ratelimit_service_restarts_when_its_limits_change(
        monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []

    def digest(root: str) -> bytes:
        read.append(root)
        return b""

    monkeypatch.setattr(freshness, "_tree_digest", digest)
    freshness.fingerprint("ratelimit", [])
    assert "edge" in read  # edge/ratelimits.yaml
