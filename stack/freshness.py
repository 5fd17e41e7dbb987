"""Restarts app programs whose code changed since they started, so `make up`
(and so `make test`) always runs the code in the work tree, not a stale process.

A program's fingerprint hashes the files it runs: for a service, its package,
the shared package, every service's client package (services/<name>/client,
which other services import) and the generated stubs (the ratelimit service's also
edge/, where its limits are); for the edge, edge/ and the
generated descriptor and OpenAPI document. The fingerprint of the running
process is kept under $STACK_DIR/fingerprints/.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

from stack.topology import REPO, service_of

_SHARED = ("services/shared", "generated")


@functools.lru_cache(maxsize=64)
def _tree_digest(root: str) -> bytes:
    """Digest of a folder's files (names and contents); one read per `up`."""
    digest = hashlib.sha256()
    for path in sorted((REPO / root).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(REPO)).encode())
            digest.update(path.read_bytes())
    return digest.digest()


def fingerprint(program: str, services: Iterable[str]) -> str:
    if program == "envoy":
        # The edge also changes with the set of services it routes to.
        roots: tuple[str, ...] = ("edge", "generated")
        extra = ",".join(sorted(services))
    else:
        clients = sorted(str(p.relative_to(REPO)) for p in REPO.glob("services/*/client"))
        roots = (f"services/{service_of(program)}", *_SHARED, *clients)
        if service_of(program) == "ratelimit":
            roots += ("edge",)  # its limits are edge/ratelimits.yaml
        extra = ""
    digest = hashlib.sha256(extra.encode())
    for root in roots:
        digest.update(_tree_digest(root))
    return digest.hexdigest()


def stale(stack_dir: Path, program: str, current: str) -> bool:
    path = stack_dir / "fingerprints" / program
    return path.exists() and path.read_text() != current


def record(stack_dir: Path, program: str, current: str) -> None:
    path = stack_dir / "fingerprints" / program
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(current)
