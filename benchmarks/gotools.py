"""Load generators from the Go module proxy, built once with `go install` at a
pinned version into the shared cache (the way the stack installs MinIO)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def ensure(cache_dir: Path, module: str, version: str) -> Path:
    """The binary of `module` (a main package path) at `version`."""
    name = module.rstrip("/").split("/")[-1]
    if name.startswith("v") and name[1:].isdigit():  # .../vegeta/v12: the name before
        name = module.rstrip("/").split("/")[-2]
    target = cache_dir / "bin" / f"{name}-{version}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as gobin:
        subprocess.run(["go", "install", f"{module}@{version}"], check=True,
                       env=os.environ | {"GOBIN": gobin, "GOFLAGS": "-buildvcs=false"})
        shutil.move(str(Path(gobin) / name), target)
    return target
