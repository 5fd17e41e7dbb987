"""`stack up`: install, configure, start, wait for real readiness, migrate, start the app."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

from services.migrations import runner as migrations
from services.migrations.settings import MigrationSettings
from stack import (
    contract,
    freshness,
    install,
    keys,
    node_probes,
    pg_ha,
    postgres,
    probes,
    programs,
    redis_cluster,
    topology,
    wait,
)
from stack.errors import StackError
from stack.lock import exclusive
from stack.programs import Program, Tier
from stack.supervisor import Supervisor
from stack.topology import Settings

log = logging.getLogger("stack")
PROBE_TIMEOUT = 3.0


class Readiness:
    def __init__(self, supervisor: Supervisor, env: Mapping[str, str]) -> None:
        self.supervisor, self.env = supervisor, env

    def wait(
        self, name: str, probe: probes.Probe, timeout: float, supervised: bool, label: str = ""
    ) -> None:
        def attempt() -> str:
            if supervised:
                info = self.supervisor.processes().get(name)
                if info is None or info.state == "FATAL":
                    state = info.description if info else "not configured"
                    raise wait.GiveUpError(f"supervisord gave up on it ({state})")
            return probe(self.env, PROBE_TIMEOUT)

        started = time.monotonic()
        try:
            detail = wait.until(attempt, timeout)
        except Exception as exc:
            message = f"{name} is not ready after {time.monotonic() - started:.0f}s: {exc}"
            if supervised:
                log_file = self.supervisor.paths.log(name)
                message += f"\n--- last lines of {log_file} ---\n{self.supervisor.tail(name)}"
            raise StackError(message) from exc
        log.info("%s: ready in %.1fs (%s)", label or name, time.monotonic() - started, detail)

    def running(self, name: str, timeout: float) -> None:
        """For programs without a health endpoint: supervisord says RUNNING (past startsecs)."""

        def is_running(_env: Mapping[str, str], _timeout: float) -> str:
            info = self.supervisor.processes()[name]
            if info.state != "RUNNING":
                raise RuntimeError(f"state {info.state}")
            return info.description

        self.wait(name, is_running, timeout, supervised=True)


def _local_infra(settings: Settings, external: set[str]) -> list[str]:
    for name in sorted(external):
        keys_ = ", ".join(contract.EXTERNAL_KEYS[name])
        log.info("%s: external (%s set by the caller), not started here", name, keys_)
    wanted = [n for n in topology.runnable(settings) if n not in external]
    install.apt_packages(set(wanted))
    script_env = {"STACK_DIR": str(settings.stack_dir), "TWITTER_CACHE": str(settings.cache_dir)}
    installed = install.run_scripts([n for n in wanted if n in install.SCRIPTED], script_env)
    install.tools(script_env)
    return [n for n in wanted if n not in install.SCRIPTED or n in installed]


def _note_missing_app() -> None:
    if not programs.edge_present():
        log.info("envoy: left out, edge/render.py does not exist yet")
    for name in topology.unknown_services():
        log.warning("services/%s: no port assigned in stack/topology.py, not started", name)


def _configure(supervisor: Supervisor, plan: list[Program]) -> None:
    for program in plan:
        program.directory.mkdir(parents=True, exist_ok=True)
    supervisor.write_config(plan)
    if supervisor.pid() is None:
        log.info("starting supervisord (%s)", supervisor.paths.conf)
        supervisor.start_daemon()
    else:
        supervisor.apply_config()


def _nodes_ready(settings: Settings, ready: Readiness, component: topology.Infra) -> None:
    """Under TOPOLOGY=ha, each node of a replicated store answers in its role."""
    for program, of in topology.node_programs(settings).items():
        probe = node_probes.for_node(settings, program)
        if of == component.name and probe is not None:
            ready.wait(program, probe, component.ready_timeout, supervised=True)


def _infra_ready(settings: Settings, ready: Readiness, available: list[str]) -> None:
    local = set(ready.supervisor.processes())
    for component in topology.INFRA:
        if component.name not in available:
            continue
        supervised = component.name in local
        if settings.ha and supervised and component.name in {"nats", "cassandra"}:
            _nodes_ready(settings, ready, component)
        if component.name == "postgres" and supervised:
            # The contract's role does not exist until bootstrap, so first ask as superuser.
            ready.wait(
                "postgres",
                lambda _e, t: postgres.ping_superuser(settings, t),
                component.ready_timeout,
                supervised,
                label="postgres (superuser, before bootstrap)",
            )
            postgres.bootstrap(settings)
            if settings.ha:  # the standby streams and confirms each commit
                _nodes_ready(settings, ready, component)
                ready.wait("postgres-2", _synchronous, component.ready_timeout, True,
                           label="postgres standby synchronous")
        if component.name == "redis" and supervised and settings.redis_cluster:
            for name, port, _ in topology.redis_nodes(settings):
                ready.wait(name, functools.partial(_redis_node, port),
                           component.ready_timeout, supervised)
            log.info("redis: %s", redis_cluster.ensure(settings, PROBE_TIMEOUT))
            if settings.ha:
                _nodes_ready(settings, ready, component)
        ready.wait(
            component.name, probes.INFRA[component.name], component.ready_timeout, supervised
        )


def _synchronous(_env: Mapping[str, str], timeout: float) -> str:
    settings = topology.load()
    name, _ = pg_ha.primary(settings)
    detail = pg_ha.role(settings, name, timeout)
    if not detail.endswith(": sync"):
        raise RuntimeError(detail)
    return detail


def _other_topology_running(settings: Settings) -> None:
    """Both topologies use the same ports: refuse to start one over the other."""
    other = topology.load({**os.environ, "TOPOLOGY": "single" if settings.ha else "ha"})
    if other.stack_dir != settings.stack_dir and Supervisor(other).pid() is not None:
        raise StackError(f"the {'single' if settings.ha else 'ha'} stack is running "
                         f"({other.stack_dir}): `make down` first")


def _redis_node(port: int, _env: Mapping[str, str], timeout: float) -> str:
    return probes.redis_node(port, timeout)


def _migrate(env: Mapping[str, str], available: list[str]) -> None:
    """The release's migrations (python -m services.migrations), and the media
    bucket, on whichever of their stores this stack has."""
    stores = ["postgres"]
    if "cassandra" in available:
        stores.append("cql")
    else:
        log.warning("cql: migrations skipped, no Cassandra/ScyllaDB")
    if "minio" in available:
        stores.append("bucket")
    else:
        log.warning("s3: bucket not ensured, no S3 endpoint")
    migrations.apply(MigrationSettings.from_mapping(env), stores)


def _start_app(ready: Readiness, plan: list[Program], stack_dir: Path) -> None:
    app = [p for p in plan if p.tier is Tier.APP]
    services = topology.services()
    running = ready.supervisor.processes()
    for program in app:
        current = freshness.fingerprint(program.name, services)
        info = running.get(program.name)
        if info is not None and info.state == "RUNNING" \
                and freshness.stale(stack_dir, program.name, current):
            log.info("%s: code changed since it started; restarting", program.name)
            ready.supervisor.stop(program.name)
        ready.supervisor.start(program.name)
        freshness.record(stack_dir, program.name, current)
    for program in app:
        probe = probes.for_component(program.name)
        timeout = (
            topology.EDGE_READY_TIMEOUT
            if program.name == topology.EDGE
            else topology.SERVICE_READY_TIMEOUT
        )
        if probe is None:
            ready.running(program.name, timeout)
        else:
            ready.wait(program.name, probe, timeout, supervised=True)


def up(app: bool = True) -> None:
    """Everything; with app=False the infrastructure only, migrated (a restore fills
    the stores before any service starts)."""
    started = time.monotonic()
    settings = topology.load()
    keys.ensure_internal_token(settings.stack_dir)  # before the contract, which carries it
    env = contract.build(settings)
    supervisor = Supervisor(settings)
    _other_topology_running(settings)
    with exclusive(settings.stack_dir):
        external = contract.external(settings)
        local = _local_infra(settings, external)
        available = sorted(external) + local
        _note_missing_app()
        if "postgres" in local:
            postgres.init(settings)
            if settings.ha:
                pg_ha.init(settings)
        keys.ensure_signing_key(Path(env["AUTH_KEYS_DIR"]))
        contract.write_env_file(settings.stack_dir / "stack.env", env)
        plan = programs.build(settings, env, local)
        if "redis" in local:
            redis_cluster.adopt_single_server_data(settings)
        _configure(supervisor, plan)

        ready = Readiness(supervisor, env)
        _infra_ready(settings, ready, available)
        _migrate(env, available)
        if not app:
            return
        _start_app(ready, plan, settings.stack_dir)

    edge = env["EDGE_URL"] if programs.edge_present() else "(no edge yet: edge/render.py missing)"
    print(
        f"stack ({topology.topology_name()} topology) is up in "
        f"{time.monotonic() - started:.1f}s\n"
        f"  REST edge:  {edge}\n"
        f"  traces:     {env['JAEGER_URL']}  (make trace ID=<x-request-id>)\n"
        f"  logs:       {settings.logs_dir}/<program>.log\n"
        f'  env:        {settings.stack_dir / "stack.env"}  (or: eval "$(python -m stack env)")\n'
        f"  supervisor: .venv/bin/supervisorctl -c {supervisor.paths.conf} status"
    )
