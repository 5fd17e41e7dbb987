"""`stack status`: supervisor state, pid, port, memory and a live probe per
component (each process of a service on its own port; each worker with its
consumers' pending, ack-pending and dead-letter counts), then the circuit
breakers each Python process reports as open."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from stack import contract, node_probes, probes, procs, programs, topology
from stack.supervisor import ProcessInfo, Supervisor

PROBE_TIMEOUT = 3.0


@dataclass(frozen=True)
class Row:
    name: str
    state: str
    pid: str
    port: str
    rss: str
    health: str
    ok: bool


def _own_port(program: programs.Program | None) -> int:
    """The port only this process of a multi-process service listens on (0: none)."""
    return int(program.env.get("GRPC_PROCESS_PORT") or 0) if program else 0


def _probe(name: str, env: Mapping[str, str], info: ProcessInfo | None,
           program: programs.Program | None = None,
           settings: topology.Settings | None = None) -> tuple[bool, str]:
    node = node_probes.for_node(settings, name) if settings and settings.ha else None
    if node is not None:
        # A node of a replicated store: its own answer and role; the first
        # node's row carries the whole store's probe too.
        ok, whole = _probe(name, env, info) if name in probes.INFRA else (True, "")
        try:
            role = node(env, PROBE_TIMEOUT)
        except Exception as exc:
            first_line = (str(exc) or type(exc).__name__).splitlines()[0]
            return False, f"FAIL {first_line[:90]}" + (f" | store: {whole}" if whole else "")
        return ok, f"{whole} | node: {role}" if whole else role
    probe = probes.for_component(name)
    if own := _own_port(program):
        # The shared port would answer from whichever process the kernel picks.
        probe = lambda _env, timeout: probes.grpc_health(f"127.0.0.1:{own}", timeout)  # noqa: E731
    if probe is None:  # nothing to ask: being up is all there is to check
        running = info is not None and info.state == "RUNNING"
        return running, "running" if running else "not running"
    try:
        return True, probe(env, PROBE_TIMEOUT)
    except Exception as exc:
        first_line = (str(exc) or type(exc).__name__).splitlines()[0]
        return False, f"FAIL {first_line[:90]}"


# The JetStream gauges (services/shared/messaging/consumer_lag.py) shown beside a worker.
CONSUMER_GAUGES = {"jetstream_consumer_pending": "pending",
                   "jetstream_consumer_ack_pending": "ack-pending",
                   "jetstream_dlq_messages": "dead"}


def consumer_counts(metrics_ports: list[int]) -> dict[str, dict[str, int]]:
    """Consumer -> {pending, ack-pending, dead}, the largest any process reports
    (each replica of the sampling service reports the same reading)."""
    counts: dict[str, dict[str, int]] = {}
    for port in metrics_ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                        timeout=PROBE_TIMEOUT) as response:
                text = response.read().decode()
        except OSError:
            continue
        for family in text_string_to_metric_families(text):
            label = CONSUMER_GAUGES.get(family.name)
            if label is None:
                continue
            for sample in family.samples:
                mine = counts.setdefault(sample.labels["consumer"], {})
                mine[label] = max(mine.get(label, 0), int(sample.value))
    return counts


def _with_counts(detail: str, counts: Mapping[str, Mapping[str, int]]) -> str:
    """"consuming: a, b" -> "consuming: a (pending 0, ack-pending 0, dead 0), b (...)"."""
    prefix = "consuming: "
    if not detail.startswith(prefix):
        return detail
    named = []
    for consumer in detail.removeprefix(prefix).split(", "):
        shown = ", ".join(f"{label} {counts[consumer].get(label, 0)}"
                          for label in CONSUMER_GAUGES.values()) \
            if consumer in counts else "counts not sampled yet"
        named.append(f"{consumer} ({shown})")
    return prefix + ", ".join(named)


def open_breakers(metrics_port: int) -> list[str]:
    """Names of the breakers a process reports open on its metrics endpoint
    (services/shared/resilience/breaker.py); empty when it has none or does not answer."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                    timeout=PROBE_TIMEOUT) as response:
            text = response.read().decode()
    except OSError:
        return []
    return sorted(sample.labels["name"] for family in text_string_to_metric_families(text)
                  if family.name == "circuit_breaker_open"
                  for sample in family.samples if sample.value == 1)


def _breakers(plan: Mapping[str, programs.Program]) -> str:
    ports = {name: int(p.env["METRICS_PORT"]) for name, p in plan.items()
             if p.env.get("METRICS_PORT")}
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = dict(zip(ports, pool.map(open_breakers, ports.values()), strict=True))
    opened = [f"{name}: {', '.join(names)}" for name, names in found.items() if names]
    return "open circuit breakers: " + ("; ".join(opened) if opened else "none")


def _mib(pid: int) -> str:
    return f"{procs.rss_kib(procs.tree(pid)) / 1024:.0f}M" if pid else "-"


def _pss_mib(pid: int) -> str:
    """What the tree really holds: RSS counts shared pages once per process."""
    return f"{procs.pss_kib(procs.tree(pid)) / 1024:.0f}M"


def rows() -> tuple[list[Row], str]:
    settings = running_topology()
    env = contract.build(settings)
    external = contract.external(settings)
    supervisor = Supervisor(settings)
    running = supervisor.processes()
    local = [n for n in topology.runnable(settings) if n not in external]
    plan = {p.name: p for p in programs.build(settings, env, local)}
    absent = topology.INFRA_NAMES - set(local) - external  # optional and not configured
    names = [c.name for c in topology.INFRA] + [n for n in plan if n not in topology.INFRA_NAMES]
    names += [n for n in running if n not in names]  # e.g. a service deleted since `up`

    probed = [n for n in names if n not in absent]
    with ThreadPoolExecutor(max_workers=8) as pool:
        health = dict(zip(probed, pool.map(
            lambda n: _probe(n, env, running.get(n), plan.get(n), settings), probed),
            strict=True))
    metrics = [int(p.env["METRICS_PORT"]) for p in plan.values() if p.env.get("METRICS_PORT")]
    counts = consumer_counts(metrics)
    for name, (ok, detail) in health.items():
        if name.endswith("-worker"):
            health[name] = (ok, _with_counts(detail, counts))
    for component in topology.INFRA:
        if component.name in absent:
            health[component.name] = (True, f"not configured ({component.binary_var} or"
                                             f" {contract.EXTERNAL_KEYS[component.name][0]})")

    table = []
    for name in names:
        info, program = running.get(name), plan.get(name)
        state = "external" if name in external else "off" if name in absent \
            else info.state if info else "-"
        port = _own_port(program) or (program.port if program and program.port else None)
        pid = info.pid if info else 0
        ok, detail = health[name]
        table.append(Row(name, state, str(pid or "-"), str(port or "-"), _mib(pid), detail, ok))
    sup_pid = supervisor.pid()
    footer = (
        f"topology {'ha' if settings.ha else 'single'} "
        f"({settings.stack_dir}); "
        f"supervisord pid {sup_pid}, memory of its process tree {_pss_mib(sup_pid)} "
        f"(proportional share; RSS summed per process, shared pages counted each time, "
        f"{_mib(sup_pid)})\n"
        f"{_breakers(plan)}"
        if sup_pid
        else "supervisord is not running"
    )
    return table, footer


def running_topology() -> topology.Settings:
    """The TOPOLOGY named, or without one the HA stack when it is the one running."""
    if os.environ.get("TOPOLOGY", "").strip():
        return topology.load()
    ha = topology.load({**os.environ, "TOPOLOGY": "ha"})
    return ha if Supervisor(ha).pid() is not None else topology.load()


def status() -> int:
    table, footer = rows()
    header = Row("COMPONENT", "STATE", "PID", "PORT", "RSS", "HEALTH", True)
    widths = [max(len(getattr(r, f)) for r in [header, *table]) for f in ("name", "state", "pid",
              "port", "rss")]  # fmt: skip
    for r in [header, *table]:
        cells = (r.name, r.state, r.pid, r.port, r.rss)
        print("  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=True)), r.health]))
    print(footer)
    return 0 if all(r.ok for r in table) else 1
