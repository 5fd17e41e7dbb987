"""supervisord: its rendered configuration and a typed client over its unix socket."""

from __future__ import annotations

import os
import resource
import shlex
import subprocess
import xmlrpc.client
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor.datatypes import dict_of_key_value_pairs  # type: ignore[import-untyped]
from supervisor.xmlrpc import Faults, SupervisorTransport  # type: ignore[import-untyped]

from stack import wait
from stack.contract import PASSTHROUGH
from stack.errors import StackError
from stack.programs import Program, Tier
from stack.topology import VENV_BIN, Settings

STOPPED_STATES = frozenset({"STOPPED", "EXITED", "FATAL", "UNKNOWN"})
TAIL_LINES = 25
TAIL_WIDTH = 400  # structured logs put whole tracebacks on one line
TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class Paths:
    conf: Path
    socket: Path
    pidfile: Path
    logs: Path

    @classmethod
    def of(cls, settings: Settings) -> Paths:
        d = settings.stack_dir
        return cls(
            d / "supervisord.conf", d / "supervisor.sock", d / "supervisord.pid", settings.logs_dir
        )

    def log(self, program: str) -> Path:
        return self.logs / f"{program}.log"


def _ini(value: str) -> str:
    """supervisord expands %(name)s in every value, and a value is one line."""
    if "\n" in value:
        raise StackError(f"newline in supervisord setting {value!r}")
    return value.replace("%", "%%")


def _round_trips(key: str, value: str) -> bool:
    try:
        return bool(dict_of_key_value_pairs(f'{key}="{value}"') == {key: value})
    except ValueError:
        return False


def daemon_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """supervisord's own environment, which every program inherits beneath its
    configured one: without the variables the stack passes on only when set
    (contract.PASSTHROUGH). Otherwise the first `up`'s value stayed with every
    program until `make down`: after `make bench` (1% tracing), `make test` ran
    its tracing tests against services and an edge still sampling 1%."""
    return {k: v for k, v in environ.items() if k not in PASSTHROUGH}


def _environment(env: Mapping[str, str]) -> str:
    """KEY="value",... as supervisord parses it (non-POSIX shlex, no escapes, outer quotes
    stripped); a value it would read back differently is refused rather than mangled."""
    if bad := sorted(k for k, v in env.items() if not _round_trips(k, v)):
        raise StackError(f"values of {bad} cannot be passed through supervisord.conf (quotes?)")
    return _ini(",".join(f'{k}="{v}"' for k, v in env.items()))


def _program(p: Program, paths: Paths) -> str:
    lines = {
        "command": shlex.join(p.argv),
        "directory": str(p.directory),
        "priority": str(p.priority),
        "autostart": str(p.tier is Tier.INFRA).lower(),
        "autorestart": "true",
        "startsecs": "1",
        "startretries": "3",
        "stopsignal": p.stopsignal,
        "stopwaitsecs": str(p.stopwaitsecs),
        "stopasgroup": str(p.stopasgroup).lower(),
        "killasgroup": "true",
        "redirect_stderr": "true",
        "stdout_logfile": str(paths.log(p.name)),
        "stdout_logfile_maxbytes": "20MB",
        "stdout_logfile_backups": "2",
    }
    if p.user:
        lines["user"] = p.user
    body = "".join(f"{k}={_ini(v)}\n" for k, v in lines.items())
    if p.env:
        body += f"environment={_environment(p.env)}\n"
    return f"[program:{p.name}]\n{body}"


def render(programs: list[Program], paths: Paths) -> str:
    # Children inherit supervisord's descriptor limit; Cassandra wants many.
    minfds = min(65536, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    head = f"""\
[unix_http_server]
file={paths.socket}
chmod=0700

[supervisord]
logfile={paths.logs / "supervisord.log"}
logfile_maxbytes=10MB
logfile_backups=2
pidfile={paths.pidfile}
childlogdir={paths.logs}
minfds={minfds}
identifier=twitter-stack

[rpcinterface:supervisor]
supervisor.rpcinterface_factory=supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{paths.socket}
"""
    return "\n".join([head.replace("%", "%%"), *(_program(p, paths) for p in programs)])


@dataclass(frozen=True)
class ProcessInfo:
    name: str
    state: str  # RUNNING, STARTING, BACKOFF, FATAL, STOPPED, EXITED, ...
    pid: int
    description: str


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self.paths = Paths.of(settings)

    def _proxy(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.paths.socket}")
        return xmlrpc.client.ServerProxy("http://localhost", transport=transport)

    def _rpc(self) -> Any:
        return self._proxy().supervisor

    def kill_and_hold(self, name: str) -> None:
        """SIGKILL, and no automatic restart until start(): one multicall, so
        supervisord cannot reap the process (and restart it) between the two."""
        results = self._proxy().system.multicall([
            {"methodName": "supervisor.signalProcess", "params": [name, "KILL"]},
            {"methodName": "supervisor.stopProcess", "params": [name, False]}])
        if failed := [r for r in results if isinstance(r, dict) and "faultCode" in r]:
            raise StackError(f"kill {name}: {failed}")

    def pid(self) -> int | None:
        """supervisord's pid, or None when it is not answering."""
        if not self.paths.socket.exists():
            return None
        try:
            return int(self._rpc().getPID())
        except (OSError, xmlrpc.client.Fault):
            return None

    def write_config(self, programs: list[Program]) -> None:
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.conf.with_suffix(".tmp")
        tmp.write_text(render(programs, self.paths))
        tmp.replace(self.paths.conf)

    def start_daemon(self) -> None:
        argv = [str(VENV_BIN / "supervisord"), "-c", str(self.paths.conf)]
        # supervisord daemonizes and closes its stdio, so this returns promptly.
        result = subprocess.run(argv, capture_output=True, text=True, check=False,  # noqa: S603
                                env=daemon_environment(os.environ))
        if result.returncode != 0:
            raise StackError(f"supervisord did not start:\n{result.stderr or result.stdout}")

        def answering() -> None:
            if self.pid() is None:
                raise StackError(f"supervisord not answering on {self.paths.socket}")

        wait.until(answering, timeout=15, interval=0.2)

    def apply_config(self) -> None:
        """reread + update: add new programs, restart changed ones, drop removed ones."""
        rpc = self._rpc()
        added, changed, removed = rpc.reloadConfig()[0]
        for group in [*removed, *changed]:
            rpc.stopProcessGroup(group)
            rpc.removeProcessGroup(group)
        for group in [*changed, *added]:
            rpc.addProcessGroup(group)

    def start(self, name: str) -> None:
        try:
            self._rpc().startProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != Faults.ALREADY_STARTED:
                raise

    def stop(self, name: str) -> None:
        try:
            self._rpc().stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != Faults.NOT_RUNNING:
                raise

    def processes(self) -> dict[str, ProcessInfo]:
        if self.pid() is None:
            return {}
        return {
            i["name"]: ProcessInfo(i["name"], i["statename"], int(i["pid"]), i["description"])
            for i in self._rpc().getAllProcessInfo()
        }

    def stop_by_priority(self) -> None:
        """Stop programs from the highest priority down, each priority level in parallel.
        supervisord's own shutdown keeps the same order but stops one program per main-loop
        tick (about a second each)."""
        rpc = self._rpc()
        levels: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for c in rpc.getAllConfigInfo():
            levels[c["process_prio"]].append((c["name"], c["stopwaitsecs"]))
        for priority in sorted(levels, reverse=True):
            names = [name for name, _ in levels[priority]]
            for name in names:
                try:
                    rpc.stopProcess(name, False)
                except xmlrpc.client.Fault as fault:
                    if fault.faultCode != Faults.NOT_RUNNING:
                        raise

            def stopped(names: list[str] = names) -> None:
                states = {n: i.state for n, i in self.processes().items() if n in names}
                if busy := [n for n, s in states.items() if s not in STOPPED_STATES]:
                    raise StackError(f"still stopping: {', '.join(busy)}")

            # supervisord SIGKILLs after stopwaitsecs, so this deadline is a backstop.
            wait.until(stopped, max(s for _, s in levels[priority]) + 15, interval=0.2)

    def shutdown(self) -> None:
        self._rpc().shutdown()

    def tail(self, program: str, lines: int = TAIL_LINES) -> str:
        path = self.paths.log(program)
        try:
            with path.open("rb") as f:
                f.seek(max(0, path.stat().st_size - TAIL_BYTES))
                text = f.read().decode(errors="replace")
        except OSError:
            return f"(no log at {path})"
        return "\n".join(line[:TAIL_WIDTH] for line in text.splitlines()[-lines:])
