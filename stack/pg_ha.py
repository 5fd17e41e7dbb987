"""PostgreSQL under TOPOLOGY=ha: a primary, a synchronous streaming standby, and
the failover watcher (`python -m stack.pg_ha`, a supervisord program) that
promotes the standby when the primary dies.

The role file (`postgres-primary` beside the data directories) names the
primary; each node's start script (stack/run/postgres-node.sh) reads it, so a
node that comes back after a failover rejoins as the new primary's standby.

The watcher, every half second:
- keeps the standby synchronous while it streams (synchronous_standby_names),
  so every acknowledged commit is on both nodes; when the standby has been
  gone for SYNC_GRACE_SECONDS it clears the setting, so the primary takes
  writes alone rather than blocking (a failover is then refused until the
  standby is back in sync: promoting it would lose commits);
- when the primary has not answered for FAILOVER_AFTER_SECONDS and the standby
  was synchronous, fences the old primary (supervisord stops it), names the
  standby in the role file, promotes it (pg_promote) and starts the old one
  again if supervisord had been restarting it: it comes back as a standby.

Why not Patroni: it needs a consensus store (etcd, Consul, ZooKeeper or the
Kubernetes API) that this stack does not run; for two nodes under one
supervisord, the supervisor is the fencing agent and this file is the whole
failover. In Kubernetes an operator does this job (k8s/datastores/postgres.yaml).
"""

from __future__ import annotations

import logging
import sys
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from stack import install, postgres, topology
from stack.supervisor import Supervisor
from stack.topology import Settings

log = logging.getLogger("pg-ha")
WATCHER = "postgres-failover"
ROLE_FILE = "postgres-primary"
CHECK_SECONDS = 0.5
FAILOVER_AFTER_SECONDS = 2.0
SYNC_GRACE_SECONDS = 2.0
PROMOTE_WAIT_SECONDS = 30


def role_file(settings: Settings) -> Path:
    return postgres.home(settings) / ROLE_FILE


def primary(settings: Settings) -> tuple[str, int]:
    """(node, port) of the primary the role file names; the first node before any."""
    nodes = dict(topology.postgres_nodes(settings))
    try:
        name = role_file(settings).read_text().split()[0]
    except (OSError, IndexError):
        name = "postgres"
    return name, nodes[name]


def standby(settings: Settings) -> tuple[str, int]:
    first = primary(settings)[0]
    return next((n, p) for n, p in topology.postgres_nodes(settings) if n != first)


def write_role_file(settings: Settings, node: str) -> None:
    port = dict(topology.postgres_nodes(settings))[node]
    path = role_file(settings)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(f"{node} {port}\n")
    tmp.chmod(0o644)
    tmp.replace(path)


def init(settings: Settings) -> None:
    """The role file of a new stack: the first node is the primary."""
    if not role_file(settings).exists():
        write_role_file(settings, "postgres")


def node_argv(settings: Settings, node: str) -> list[str]:
    return ["/bin/bash", str(install.script("run", "postgres-node")), node,
            str(role_file(settings)), str(postgres.data_dir(settings, node)),
            str(postgres.socket_dir(settings)), str(install.POSTGRES_BIN), "--",
            *postgres.server_argv(settings, node)]


@dataclass(frozen=True)
class NodeState:
    in_recovery: bool
    standby_sync: str | None  # the standby's sync_state on the primary, if it streams
    sync_names: str


def node_state(settings: Settings, port: int, other: str, timeout: float = 2.0) -> NodeState:
    with postgres.superuser(settings, port, timeout) as conn:
        row = conn.execute(
            "SELECT pg_is_in_recovery(), (SELECT sync_state FROM pg_stat_replication"
            " WHERE application_name = %s AND state = 'streaming' LIMIT 1),"
            " current_setting('synchronous_standby_names')", (other,)).fetchone()
    assert row is not None
    return NodeState(bool(row[0]), row[1], str(row[2]))


def role(settings: Settings, node: str, timeout: float) -> str:
    """A node's role as `make status` shows it: primary (and its standby's
    state) or standby (and how far its replay is behind)."""
    port = dict(topology.postgres_nodes(settings))[node]
    other = next(n for n, _ in topology.postgres_nodes(settings) if n != node)
    state = node_state(settings, port, other, timeout)
    if not state.in_recovery:
        return f"primary, standby {other}: {state.standby_sync or 'not streaming'}"
    with postgres.superuser(settings, port, timeout) as conn:
        row = conn.execute("SELECT status, pg_wal_lsn_diff(pg_last_wal_receive_lsn(),"
                           " pg_last_wal_replay_lsn()) FROM pg_stat_wal_receiver").fetchone()
    return f"standby ({row[0]}, replay {int(row[1] or 0)} bytes behind)" if row \
        else "standby (no WAL receiver)"


def _set_sync_names(settings: Settings, port: int, value: str) -> None:
    with postgres.superuser(settings, port, 2.0) as conn:
        conn.execute(sql.SQL("ALTER SYSTEM SET synchronous_standby_names = {}").format(
            sql.Literal(value)))
        conn.execute("SELECT pg_reload_conf()")
    log.info("synchronous_standby_names = %r on port %d", value, port)


class Watcher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.supervisor = Supervisor(settings)
        self.failing_since: float | None = None
        self.missing_since: float | None = None
        self.synced = False  # the standby confirmed every commit at the last look

    def step(self) -> None:
        (first, port), (other, _) = primary(self.settings), standby(self.settings)
        try:
            state = node_state(self.settings, port, other, timeout=1.0)
        except Exception as exc:  # any failure to answer counts as down
            now = time.monotonic()
            if self.failing_since is None:
                log.warning("primary %s does not answer: %s", first, str(exc).splitlines()[0])
                self.failing_since = now
            if now - self.failing_since >= FAILOVER_AFTER_SECONDS:
                if self.synced:
                    self.failover(first, other)
                elif int(now - self.failing_since) % 10 == 0:
                    log.warning("not promoting %s: it was not synchronous", other)
            return
        self.failing_since = None
        if state.in_recovery:
            log.warning("%s, named primary, is in recovery", first)
            return
        self.keep_sync(port, other, state)

    def keep_sync(self, port: int, other: str, state: NodeState) -> None:
        quoted = f'"{other}"'
        if state.standby_sync is not None:
            self.missing_since = None
            if state.sync_names != quoted:
                _set_sync_names(self.settings, port, quoted)
            self.synced = state.standby_sync == "sync" and state.sync_names == quoted
            return
        self.synced = False
        now = time.monotonic()
        self.missing_since = self.missing_since or now
        if state.sync_names and now - self.missing_since >= SYNC_GRACE_SECONDS:
            log.warning("standby %s is not streaming: the primary commits alone", other)
            _set_sync_names(self.settings, port, "")

    def failover(self, old: str, new: str) -> None:
        started = time.monotonic()
        restarting = self._fence(old)
        write_role_file(self.settings, new)  # before promoting: `old` may never come back primary
        new_port = dict(topology.postgres_nodes(self.settings))[new]
        with postgres.superuser(self.settings, new_port, 5.0) as conn:
            conn.execute("SELECT pg_promote(true, %s)", (PROMOTE_WAIT_SECONDS,))
            # Records the new timeline in pg_control, which pg_rewind reads
            # when the old primary rejoins (stack/run/postgres-node.sh).
            conn.execute("CHECKPOINT")
        # Its copied settings may name itself; it commits alone until `old` streams.
        _set_sync_names(self.settings, new_port, "")
        self.synced, self.failing_since, self.missing_since = False, None, None
        log.warning("promoted %s in %.1f s after %s died", new, time.monotonic() - started, old)
        if restarting:
            self.supervisor.start(old)

    def _fence(self, node: str) -> bool:
        """Stops the old primary under supervisord; True when supervisord was
        bringing it back (then it is started again, as a standby)."""
        info = self.supervisor.processes().get(node)
        was = info.state if info else "UNKNOWN"
        try:
            self.supervisor.stop(node)
        except xmlrpc.client.Fault as fault:
            log.warning("fencing %s: %s", node, fault.faultString)
        return was in {"RUNNING", "STARTING", "BACKOFF"}


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s pg-ha: %(message)s")
    settings = topology.load()
    if not settings.ha:
        log.error("the failover watcher runs under TOPOLOGY=ha only")
        return 2
    watcher = Watcher(settings)
    while True:
        try:
            watcher.step()
        except Exception:
            log.exception("watcher step failed")
        time.sleep(CHECK_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
