"""Restarts app programs whose code changed since they started, so `make up`
(and so `make test`) always runs the code in the work tree, not a stale process.

A program's fingerprint hashes the files it runs: for a service, its package,
the shared package and the generated stubs; for the edge, edge/ and the
generated descriptor and OpenAPI document. The fingerprint of the running
process is kept under $STACK_DIR/fingerprints/.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from stack.topology import REPO

_SHARED = ("services/shared", "generated")


def _files(roots: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        base = REPO / root
        found.extend(p for p in sorted(base.rglob("*"))
                     if p.is_file() and "__pycache__" not in p.parts)
    return found


def fingerprint(program: str, services: Iterable[str]) -> str:
    if program == "envoy":
        # The edge also changes with the set of services it routes to.
        roots: tuple[str, ...] = ("edge", "generated")
        extra = ",".join(sorted(services))
    else:
        roots = (f"services/{program.removesuffix('-worker')}", *_SHARED)
        extra = ""
    digest = hashlib.sha256(extra.encode())
    for path in _files(roots):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def stale(stack_dir: Path, program: str, current: str) -> bool:
    path = stack_dir / "fingerprints" / program
    return path.exists() and path.read_text() != current


def record(stack_dir: Path, program: str, current: str) -> None:
    path = stack_dir / "fingerprints" / program
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(current)
