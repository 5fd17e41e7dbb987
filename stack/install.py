"""Install the servers the stack needs: Debian packages and the project's install scripts."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from stack.errors import StackError
from stack.topology import REPO

log = logging.getLogger("stack")

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
# Debian package -> a file it installs that we run.
APT: dict[str, dict[str, Path]] = {
    "postgres": {"postgresql": POSTGRES_BIN / "postgres"},
    "redis": {"redis-server": Path("/usr/bin/redis-server")},
    "nats": {"nats-server": Path("/usr/sbin/nats-server")},
}
SCRIPTED = ("cassandra", "minio", "jaeger")
# Client tools the stack does not run but the README and the tests use.
TOOLS = ("grpcurl",)
POLICY_RC = Path("/usr/sbin/policy-rc.d")


def script(kind: str, component: str) -> Path:
    """stack/install/<component>.sh or stack/run/<component>.sh."""
    return REPO / "stack" / kind / f"{component}.sh"


@contextmanager
def _no_service_autostart() -> Iterator[None]:
    """Debian's maintainer scripts would start redis/postgres on their standard ports;
    policy-rc.d exit 101 forbids that for the duration of our install."""
    if POLICY_RC.exists():
        yield
        return
    POLICY_RC.write_text("#!/bin/sh\nexit 101\n")
    POLICY_RC.chmod(0o755)
    try:
        yield
    finally:
        POLICY_RC.unlink(missing_ok=True)


def apt_packages(components: set[str]) -> None:
    missing = sorted(
        pkg
        for name in components & APT.keys()
        for pkg, binary in APT[name].items()
        if not binary.exists()
    )
    if not missing:
        return
    if os.geteuid() != 0:
        raise StackError(
            f"missing Debian packages {missing}; install them as root: "
            f"apt-get install {' '.join(missing)}"
        )
    log.info("installing Debian packages: %s", " ".join(missing))
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    with _no_service_autostart():
        for argv in (
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        ):
            if subprocess.run(argv, env=env, check=False).returncode != 0:  # noqa: S603
                raise StackError(f"{' '.join(argv)} failed")


def run_scripts(components: list[str], env: Mapping[str, str]) -> list[str]:
    """Run stack/install/<component>.sh for each component, concurrently (a first Cassandra
    download and a first MinIO build each take minutes); return those that can run."""
    ready, running = [], {}
    for component in components:
        installer, runner = script("install", component), script("run", component)
        absent = [str(p.relative_to(REPO)) for p in (installer, runner) if not p.is_file()]
        if absent:
            log.warning("%s: skipped, %s not found", component, ", ".join(absent))
            continue
        argv = ["/bin/bash", str(installer)]
        running[component] = subprocess.Popen(argv, env={**os.environ, **env})  # noqa: S603
    for component, process in running.items():
        if process.wait() != 0:
            raise StackError(f"stack/install/{component}.sh failed (exit {process.returncode})")
        ready.append(component)
    return ready


def tools(env: Mapping[str, str]) -> None:
    """Install TOOLS (stack/install/<tool>.sh, cached and pinned like the servers)."""
    for tool in TOOLS:
        argv = ["/bin/bash", str(script("install", tool))]
        if subprocess.run(argv, env={**os.environ, **env}, check=False).returncode != 0:  # noqa: S603
            raise StackError(f"stack/install/{tool}.sh failed")
