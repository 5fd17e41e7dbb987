"""A throwaway PostgreSQL cluster in a directory of its own, built and started by
the stack's own helpers (stack/postgres.py), for tests that must not touch the
shared stack's server (backups and restores)."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from stack import postgres, topology

START_TIMEOUT = 120.0


# Below the kernel's ephemeral range (ip_local_port_range, 32768-60999 here):
# a port the kernel picked (bind to 0) is free only until the next outgoing
# connection takes it, which made the scratch server fail to bind at times
# while the stack's services connected around it.
SCRATCH_PORTS = range(20_000, 32_000)


def free_port() -> int:
    """A port no listener holds now, outside the range outgoing connections use."""
    for port in random.sample(SCRATCH_PORTS, 50):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {SCRATCH_PORTS}")


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A directory PostgreSQL's OS user can reach (pytest's tmp_path is private to
    root, and a short one: socket paths are limited to about 100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="pgscratch", dir="/var/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def settings_for(stack_dir: Path) -> topology.Settings:
    return topology.load({"STACK_DIR": str(stack_dir), "PG_PORT": str(free_port()),
                          "TWITTER_CACHE": os.environ.get("TWITTER_CACHE", "")})


def connect(settings: topology.Settings) -> psycopg.Connection[Any]:
    return psycopg.connect(host=str(postgres.socket_dir(settings)),
                           port=settings.ports["PG_PORT"], user=postgres.SUPERUSER,
                           dbname="postgres", autocommit=True, connect_timeout=5)


@contextmanager
def running(settings: topology.Settings) -> Iterator[None]:
    """The cluster's server, from `stack.postgres.server_argv`, until the block ends."""
    log = (settings.stack_dir / "server.log").open("ab")
    server = subprocess.Popen(postgres.server_argv(settings), user=postgres.os_user(),
                              cwd="/", stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert server.poll() is None, "PostgreSQL exited: see server.log"
            try:
                connect(settings).close()
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "PostgreSQL did not start"
                time.sleep(0.2)
        yield
    finally:
        server.terminate()  # smart shutdown: the tests' connections are closed by now
        server.wait(timeout=60)
        log.close()
