"""The monitoring config of k8s/components/monitoring, read for checks: the
alert rules, the dashboard's queries, and what each must hold. Prometheus's
parser checks the PromQL itself (tools/check_monitoring.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from stack.topology import REPO

MONITORING = REPO / "k8s" / "components" / "monitoring"
DASHBOARDS = MONITORING / "dashboards"
# Series that come from elsewhere than our code: Envoy's stats, the client
# library's process collector, Prometheus itself.
EXTERNAL_PREFIXES = ("envoy_", "process_", "up")
# Grafana's variables, replaced by a value of their type before parsing.
_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "inf", "nan"})
_SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in sorted(MONITORING.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "PrometheusRule":
                groups += doc["spec"]["groups"]
    return groups


def rule_file() -> str:
    """The rules as a Prometheus rule file (what a PrometheusRule's spec holds)."""
    return yaml.safe_dump({"groups": rule_groups()}, sort_keys=False)


def alerts() -> list[dict[str, Any]]:
    return [r for g in rule_groups() for r in g["rules"] if "alert" in r]


def dashboards() -> dict[Path, dict[str, Any]]:
    return {p: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard.get("panels", []):
        out += [panel, *panel.get("panels", [])]
    return out


def dashboard_exprs() -> list[str]:
    """Every query of every dashboard, Grafana's variables replaced."""
    exprs = []
    for dashboard in dashboards().values():
        for panel in _panels(dashboard):
            for target in panel.get("targets", []):
                expr = target["expr"]
                for var, value in _VARIABLES.items():
                    expr = expr.replace(var, value)
                exprs.append(re.sub(r"\$\{?\w+\}?", ".*", expr))
    return exprs


def exported_metrics(root: Path = REPO / "services") -> set[str]:
    """Metric names the services define (prometheus_client constructors)."""
    pattern = re.compile(r"(?:Counter|Gauge|Histogram|Summary)\(\s*\"([a-z_][a-z0-9_]*)\"")
    return {m for p in root.rglob("*.py") for m in pattern.findall(p.read_text())}


def metric_names(expr: str) -> set[str]:
    """The series an expression reads: identifiers that are not functions,
    keywords, label names or parts of strings."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", expr)
    return {n for n in names if n.lower() not in _KEYWORDS}


def unknown_metrics(expr: str, known: set[str]) -> set[str]:
    names = metric_names(expr)
    unknown = set()
    for name in names:
        base = next((name.removesuffix(s) for s in _SUFFIXES if name.endswith(s)), name)
        if name not in known and base not in known and not name.startswith(EXTERNAL_PREFIXES):
            unknown.add(name)
    return unknown


GRID_COLUMNS = 24  # Grafana's dashboard grid


def problems() -> list[str]:
    known = exported_metrics()
    found = [p for rule in alerts() for p in _alert_problems(rule, known)]
    for path, dashboard in dashboards().items():
        found += _dashboard_problems(path.name, dashboard, known)
    return found


def _alert_problems(rule: dict[str, Any], known: set[str]) -> list[str]:
    name = rule["alert"]
    found = [f"alert {name}: no {key} annotation" for key in ("summary", "runbook")
             if not rule.get("annotations", {}).get(key, "").strip()]
    if rule.get("labels", {}).get("severity") not in ("page", "ticket"):
        found.append(f"alert {name}: severity must be page or ticket")
    return found + [f"alert {name}: unknown metric {m}" for m in
                    sorted(unknown_metrics(rule["expr"], known))]


def _dashboard_problems(name: str, dashboard: dict[str, Any], known: set[str]) -> list[str]:
    found = [f"{name}: no {key}" for key in ("uid", "title", "panels", "schemaVersion",
                                              "templating") if key not in dashboard]
    ids = [p["id"] for p in _panels(dashboard)]
    if len(ids) != len(set(ids)):
        found.append(f"{name}: panel ids repeat")
    for panel in _panels(dashboard):
        found += _panel_problems(f"{name} panel {panel.get('title')!r}", panel, known)
    return found


def _panel_problems(where: str, panel: dict[str, Any], known: set[str]) -> list[str]:
    found = []
    grid = panel.get("gridPos", {})
    if not {"h", "w", "x", "y"} <= grid.keys() or grid["x"] + grid["w"] > GRID_COLUMNS:
        found.append(f"{where}: gridPos must fit the 24-column grid")
    if panel.get("type") == "row":
        return found
    if not panel.get("targets"):
        found.append(f"{where}: no queries")
    for target in panel.get("targets", []):
        if not target.get("refId") or not target.get("expr"):
            found.append(f"{where}: a query without refId or expr")
        found += [f"{where}: unknown metric {m}" for m in
                  sorted(unknown_metrics(target.get("expr", ""), known))]
    return found
