"""Checks the monitoring config in k8s/components/monitoring (run by `make lint`).

- Alert rules (PrometheusRule specs) go through Prometheus's own rule parser
  (model/rulefmt: structure, PromQL, label and annotation templates), and the
  dashboard's queries through its PromQL parser: tools/obscheck, a small Go
  program pinned to github.com/prometheus/prometheus, built from the Go module
  proxy into ~/.cache/twitter-mesh/bin on first use.
- The rules' and dashboard's shape (stack/monitoring.py): every alert has a
  severity, a summary and a runbook; the dashboard has the fields Grafana
  needs, unique panel ids, and every metric it or a rule reads is one the
  code exports.

    python tools/check_monitoring.py
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stack import monitoring  # noqa: E402 - after the path is set

TOOL = REPO / "tools" / "obscheck"


def obscheck() -> Path:
    """The checker's binary, built once per version of its sources."""
    digest = hashlib.sha256(b"".join((TOOL / f).read_bytes()
                                     for f in ("go.mod", "go.sum", "main.go"))).hexdigest()[:12]
    cache = Path(os.environ.get("TWITTER_CACHE") or Path.home() / ".cache" / "twitter-mesh")
    binary = cache / "bin" / f"obscheck-{digest}"
    if binary.exists():
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    binary.parent.mkdir(parents=True, exist_ok=True)
    print(f"check_monitoring: building {binary.name} (Prometheus's parser, once)", file=sys.stderr)
    env = os.environ | {"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"}
    tmp = binary.with_suffix(".tmp")
    subprocess.run([go, "build", "-trimpath", "-o", str(tmp), "."], cwd=TOOL, env=env,  # noqa: S603
                   check=True)
    tmp.replace(binary)
    return binary


def main() -> int:
    problems = monitoring.problems()
    for problem in problems:
        print(f"check_monitoring: {problem}")
    binary = obscheck()
    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.yaml"
        rules.write_text(monitoring.rule_file())
        exprs = Path(tmp) / "exprs.txt"
        exprs.write_text("\n".join(monitoring.dashboard_exprs()) + "\n")
        for argv in ([str(binary), "rules", str(rules)], [str(binary), "exprs", str(exprs)]):
            if subprocess.run(argv, check=False).returncode != 0:  # noqa: S603 - our binary
                problems.append(f"{argv[1]} rejected by Prometheus's parser")
    if problems:
        return 1
    print(f"check_monitoring: {len(monitoring.alerts())} alerts and "
          f"{len(monitoring.dashboard_exprs())} dashboard queries parse; shapes OK")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
